"""Research pages: a researcher's exports, and a site administrator's studies and links."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from diary.forms import DateInput
from diary.models import ConsentVersion, Role, User
from outcomes import research
from outcomes.models import ExportStatus, Study, StudyJoinRequest, StudyLink


class ExportForm(forms.Form):
    study = forms.ChoiceField(
        label=gettext_lazy("Study"),
        help_text=gettext_lazy(
            "An export covers every site of the study (in brackets), always: exports of some "
            "sites beside all of them would tell each child's site."
        ),
    )
    cutoff = forms.DateField(
        label=gettext_lazy("Data up to (cut-off)"),
        widget=DateInput,
        help_text=gettext_lazy(
            "Rounded down to the last day of a month (a data freeze). Each child's record ends "
            "a set 0–%(days)s days before the freeze, so no date can be pinned down."
        ),
    )
    shift_dates = forms.BooleanField(
        label=gettext_lazy("Shifted dates instead of days from the first dose"),
        required=False,
        help_text=gettext_lazy(
            "Each child's dates move back by the same 0–364 days, so intervals are kept."
        ),
    )
    include_free_text = forms.BooleanField(
        label=gettext_lazy("Include free text (diary notes, assay names)"),
        required=False,
        help_text=gettext_lazy(
            "Free text can name people and places: the export is built only once an "
            "administrator of each of its sites has approved it. Your request is logged."
        ),
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        studies = research.studies_of(user).prefetch_related("sites")
        self.fields["study"].choices = [
            (s.code, f"{s} ({', '.join(sorted(site.code for site in s.sites.all()))})")
            for s in studies
        ]
        self.fields["cutoff"].initial = timezone.localdate()
        span = 2 * settings.EXPORT_DATE_UNCERTAINTY_DAYS
        self.fields["cutoff"].help_text = self.fields["cutoff"].help_text % {"days": span}

    def clean_cutoff(self):
        cutoff = self.cleaned_data["cutoff"]
        if cutoff > timezone.localdate():
            raise forms.ValidationError(_("The cut-off cannot be in the future."))
        return cutoff


@login_required
def exports_page(request):
    """The researcher's export form and their exports; site administrators see the exports
    of their sites."""
    user = request.user
    is_researcher = research.studies_of(user).exists()
    if not is_researcher and not user.admin_sites().exists():
        raise PermissionDenied(_("Exports are for researchers and site administrators."))
    form = ExportForm(request.POST or None, user=user) if is_researcher else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied(_("Only researchers linked to a study can export."))
        # A study or site the researcher is not linked to does not exist for them.
        study, sites = research.resolve(user, request.POST.get("study", ""))
        if form.is_valid():
            log, queued = research.request_export(
                user,
                study,
                sites,
                form.cleaned_data["cutoff"],
                shift_dates=form.cleaned_data["shift_dates"],
                include_free_text=form.cleaned_data["include_free_text"],
                request=request,
            )
            if log.status == ExportStatus.AWAITING_APPROVAL:
                messages.success(
                    request,
                    _(
                        "Your export includes free text: it will be built once an administrator "
                        "of each of its sites approves it. You will get an email."
                    ),
                )
            elif queued:
                messages.success(
                    request,
                    _("The export is being prepared. You will get an email when it is ready."),
                )
            else:
                messages.success(request, _("The export is ready to download."))
            return redirect("exports")
    logs = research.visible_exports(user).prefetch_related("approvals__approved_by")[:100]
    to_approve = set(research.awaiting_approval_by(user).values_list("pk", flat=True))
    return render(
        request,
        "outcomes/exports.html",
        {"form": form, "logs": logs, "admin_sites": user.admin_sites(), "to_approve": to_approve},
    )


@login_required
@require_POST
def export_approve(request, pk):
    """A site administrator, not the requester, approves an export's free text for their
    sites; the export is built once every site has approved."""
    log = get_object_or_404(research.awaiting_approval_by(request.user), pk=pk)
    if research.approve(request.user, log, request):
        messages.success(request, _("Approved: the export is being built for the researcher."))
    else:
        messages.success(
            request, _("Approved for your site; the other sites' administrators must approve too.")
        )
    return redirect("exports")


@login_required
def export_download(request, pk):
    log = get_object_or_404(research.downloadable(request.user), pk=pk)
    path = research.export_dir() / log.file_name
    if not path.exists():
        raise Http404("The file is no longer kept.")
    research.record_download(log)
    stamp = log.created.strftime("%Y%m%d-%H%M")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"{log.study.code}-anonymised-{stamp}.zip",
        content_type="application/zip",
    )


# --- Site administrators: studies and links ----------------------------------------------------


class StudyForm(forms.ModelForm):
    class Meta:
        model = Study
        fields = ["code", "title"]


class ConsentVersionForm(forms.ModelForm):
    class Meta:
        model = ConsentVersion
        fields = ["label"]


class JoinForm(forms.Form):
    code = forms.SlugField(label=gettext_lazy("Study code"))


class LinkForm(forms.Form):
    study = forms.ModelChoiceField(label=gettext_lazy("Study"), queryset=Study.objects.none())
    researcher = forms.ModelChoiceField(
        label=gettext_lazy("Researcher"), queryset=User.objects.none()
    )

    def __init__(self, *args, site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["study"].queryset = site.studies.all()
        self.fields["researcher"].queryset = User.objects.filter(
            memberships__site=site, memberships__role=Role.RESEARCHER
        ).order_by("username")


@login_required
def site_studies(request, code: str):
    """The studies this site takes part in and the researchers linked to them."""
    site = get_object_or_404(request.user.admin_sites(), code=code)
    action = request.POST.get("action") if request.method == "POST" else None
    study_form = StudyForm(request.POST if action == "create" else None, prefix="new")
    join_form = JoinForm(request.POST if action == "join" else None, prefix="join")
    consent_form = ConsentVersionForm(
        request.POST if action == "consent" else None, prefix="consent"
    )
    if action == "consent" and consent_form.is_valid():
        label = consent_form.cleaned_data["label"]
        _version, created = ConsentVersion.objects.get_or_create(site=site, label=label)
        if created:
            messages.success(request, _("Consent version %(label)s added.") % {"label": label})
        else:
            messages.info(request, _("This consent version is already defined."))
        return redirect("site_studies", code=site.code)
    link_form = LinkForm(request.POST if action == "link" else None, site=site, prefix="link")
    if action == "create" and study_form.is_valid():
        with transaction.atomic():
            study = study_form.save(commit=False)
            study.created_by = request.user
            study.owner_site = site
            study.save()
            study.sites.add(site)
        messages.success(request, _("Study %(code)s created.") % {"code": study.code})
        return redirect("site_studies", code=site.code)
    if action == "join" and join_form.is_valid():
        # Knowing a code is not enough: the owning site's administrators accept the request.
        # The answer is the same whether the code exists or not.
        study = Study.objects.filter(code=join_form.cleaned_data["code"]).first()
        if study is not None and not study.sites.filter(pk=site.pk).exists():
            StudyJoinRequest.objects.get_or_create(
                study=study,
                site=site,
                accepted__isnull=True,
                defaults={"requested_by": request.user},
            )
        messages.success(
            request,
            _(
                "If a study has this code, its owning site's administrators are asked to accept "
                "%(site)s into it."
            )
            % {"site": site.name},
        )
        return redirect("site_studies", code=site.code)
    if action == "link" and link_form.is_valid():
        try:
            StudyLink.objects.create(
                study=link_form.cleaned_data["study"],
                site=site,
                researcher=link_form.cleaned_data["researcher"],
                linked_by=request.user,
            )
        except IntegrityError:
            messages.info(request, _("This researcher is already linked to the study."))
        else:
            messages.success(request, _("The researcher can now export this site's data."))
        return redirect("site_studies", code=site.code)
    studies = site.studies.prefetch_related("sites").order_by("code")
    requests = StudyJoinRequest.objects.filter(
        study__owner_site=site, accepted__isnull=True
    ).select_related("study", "site", "requested_by")
    asked = StudyJoinRequest.objects.filter(site=site, accepted__isnull=True).select_related(
        "study"
    )
    links = StudyLink.objects.filter(site=site).select_related("study", "researcher")
    return render(
        request,
        "outcomes/site_studies.html",
        {
            "site": site,
            "studies": studies,
            "links": links.order_by("study__code", "researcher__username"),
            "study_form": study_form,
            "join_form": join_form,
            "link_form": link_form,
            "join_requests": requests.order_by("created"),
            "consent_versions": site.consent_versions.order_by("label"),
            "consent_form": consent_form,
            "asked": asked.order_by("created"),
        },
    )


@login_required
@require_POST
def study_join_decide(request, code: str, request_pk: int, decision: str):
    """An administrator of the study's owning site accepts or declines another site."""
    if decision not in ("accept", "decline"):
        raise Http404("No such decision.")
    site = get_object_or_404(request.user.admin_sites(), code=code)
    join = get_object_or_404(
        StudyJoinRequest, pk=request_pk, study__owner_site=site, accepted__isnull=True
    )
    accepted = decision == "accept"
    with transaction.atomic():
        join.accepted = accepted
        join.decided_by = request.user
        join.decided_at = timezone.now()
        join.save(update_fields=["accepted", "decided_by", "decided_at"])
        if accepted:
            join.study.sites.add(join.site)
    if accepted:
        message = _("%(site)s takes part in %(code)s.")
    else:
        message = _("%(site)s was not accepted into %(code)s.")
    messages.success(request, message % {"site": join.site.name, "code": join.study.code})
    return redirect("site_studies", code=site.code)


@login_required
@require_POST
def study_unlink(request, code: str, link_pk: int):
    site = get_object_or_404(request.user.admin_sites(), code=code)
    link = get_object_or_404(StudyLink, pk=link_pk, site=site)
    link.delete()
    messages.success(request, _("The researcher can no longer export this site's data."))
    return redirect("site_studies", code=site.code)
