"""The family's download of their child's data, and a site's export and import for clinicians."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseNotAllowed, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from diary.access import log_access
from diary.models import AccessAction, Child, DataTransfer
from exchange import tables
from exchange.exporting import Written, stream_zip
from exchange.importing import SourceError, import_data, source_from_uploads


def _zip_response(children, log: DataTransfer, about: dict) -> StreamingHttpResponse:
    def finished(written: Written) -> None:
        DataTransfer.objects.filter(pk=log.pk).update(
            finished=timezone.now(),
            row_counts=written.rows,
            size=written.size,
            sha256=written.sha256,
        )

    language = translation.get_language()

    def in_language(chunks):
        # Written after the view has returned: in the language the request asked for.
        with translation.override(language):
            yield from chunks

    response = StreamingHttpResponse(
        in_language(stream_zip(children, about=about, on_done=finished)),
        content_type="application/zip",
    )
    response["Content-Disposition"] = f'attachment; filename="{log.file_name}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
def child_download(request, pk: int):
    """Everything recorded about the child, for the family (the right of access)."""
    children = Child.objects.visible_to(request.user).filter(pk=pk)
    child = get_object_or_404(children.select_related("site"))  # before the method: 404 first
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    log = DataTransfer.objects.create(
        kind=DataTransfer.Kind.FAMILY_DOWNLOAD,
        user=request.user,
        site=child.site,
        child=child,
        file_name=f"ags-diary-{slugify(child.first_name) or 'child'}-{child.today()}.zip",
    )
    about = {"kind": log.kind, "site": child.site.code, "child_ref": child.reference}
    log_access(request, AccessAction.EXPORT, child, what="family_download", obj=log)
    return _zip_response(children, log, about)


def _site(request, code: str):
    # Caregivers, researchers and other sites' clinicians must not learn the site's data: 404.
    return get_object_or_404(request.user.clinical_sites(), code=code)


def _exported(site, user):
    """A site's children that a file can name: those with the site's own reference."""
    return Child.objects.managed_by(user).filter(site=site).exclude(reference="")


@login_required
def site_data(request, code: str):
    site = _site(request, code)
    context = {
        "site": site,
        "exported": _exported(site, request.user).count(),
        "unreferenced": Child.objects.managed_by(request.user).filter(site=site, reference=""),
        "transfers": site.data_transfers.select_related("user", "child")[:30],
        "form": ImportForm(),
    }
    return render(request, "diary/site_data.html", context)


@login_required
def site_export(request, code: str):
    """The site's identifiable data for clinical audit; logged."""
    site = _site(request, code)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    log = DataTransfer.objects.create(
        kind=DataTransfer.Kind.SITE_EXPORT,
        user=request.user,
        site=site,
        file_name=f"ags-diary-{site.code}-{timezone.localdate()}.zip",
    )
    children = _exported(site, request.user)
    about = {"kind": log.kind, "site": site.code, "children": children.count()}
    log_access(
        request,
        AccessAction.EXPORT,
        site=site,
        what="site_export",
        obj=log,
        children=about["children"],
    )
    return _zip_response(children, log, about)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".zip,.csv"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)]


class ImportForm(forms.Form):
    files = MultipleFileField(
        label=gettext_lazy("Files to import"),
        help_text=gettext_lazy("A zip of the CSV files, or one or more of the CSV files."),
    )


def _summary(report) -> str:
    parts = []
    for table in tables.TABLES:
        new, old = report.created[table.name], report.unchanged[table.name]
        if old:
            parts.append(
                _("%(file)s: %(new)d new, %(old)d already stored")
                % {"file": table.filename, "new": new, "old": old}
            )
        elif new:
            parts.append(_("%(file)s: %(new)d new") % {"file": table.filename, "new": new})
    return "; ".join(parts) or _("no rows")


@login_required
def site_import(request, code: str):
    site = _site(request, code)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        dry_run = request.POST.get("action") != "import"
        try:
            source = source_from_uploads(form.cleaned_data["files"])
        except SourceError as error:
            form.add_error("files", str(error))
        else:
            report = import_data(
                source, site=site, user=request.user, dry_run=dry_run, request=request
            )
            if report.stored:
                messages.success(
                    request, _("Imported: %(summary)s.") % {"summary": _summary(report)}
                )
                return redirect("site_data", code=site.code)
    context = {
        "site": site,
        "form": form,
        "report": report,
        "summary": _summary(report) if report and report.ok else "",
        "problem_limit": 1000,
    }
    status = 400 if form.errors or (report and not report.ok) else 200
    return render(request, "diary/site_import.html", context, status=status)
