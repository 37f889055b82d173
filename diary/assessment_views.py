"""The visit assessments page: every assessment of the child, and for the child's clinicians
the form to record or correct one (AGS Scale, physician's and parent's global assessments)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from diary import assessments
from diary.forms import DateInput
from diary.models import Child, VisitAssessment

ITEM_CHOICES = [
    ("", gettext_lazy("not scored")),
    ("0", gettext_lazy("0 – not achieved")),
    ("1", gettext_lazy("1 – achieved")),
]


class AssessmentForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("Visit date"), widget=DateInput)
    physician_global = forms.CharField(
        label=gettext_lazy("Physician's global assessment (0–100 mm, 100 = worst)"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    parent_global = forms.CharField(
        label=gettext_lazy("Parent's global assessment (0–100 mm, 100 = worst)"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for item in assessments.AGS_SCALE_ITEMS:
            # Any text is taken, so that a value outside 0–1 is explained, not just refused.
            self.fields[f"ags_{item.key}"] = forms.CharField(
                label=item.label, required=False, widget=forms.Select(choices=ITEM_CHOICES)
            )

    def item_fields(self):
        return [self[f"ags_{item.key}"] for item in assessments.AGS_SCALE_ITEMS]

    def data_for_clean(self) -> dict:
        values = self.cleaned_data
        items = {key: values.get(f"ags_{key}", "") for key in assessments.ITEM_KEYS}
        return {
            "ags_items": items if any(v != "" for v in items.values()) else None,
            "physician_global": values.get("physician_global"),
            "parent_global": values.get("parent_global"),
        }


def _initial(assessment: VisitAssessment) -> dict:
    initial = {
        "date": assessment.date,
        "physician_global": assessment.physician_global,
        "parent_global": assessment.parent_global,
        "note": assessment.note,
    }
    for key, value in (assessment.ags_items or {}).items():
        initial[f"ags_{key}"] = str(value)
    return initial


def _save(request, child: Child, form: AssessmentForm, assessment: VisitAssessment) -> bool:
    """Validate FORM into ASSESSMENT and save it; False (nothing stored) with the form's errors."""
    if not form.is_valid():
        return False
    try:
        values = assessments.clean(form.data_for_clean())
    except assessments.Invalid as invalid:
        for key, message in invalid.errors.items():
            field, _dot, item = key.partition(".")
            name = f"ags_{item}" if item else field
            form.add_error(name if name in form.fields else None, message)
        return False
    assessment.date = form.cleaned_data["date"]
    assessment.note = form.cleaned_data["note"]
    assessment.recorded_by = request.user
    for name, value in values.items():
        setattr(assessment, name, value)
    try:
        assessment.full_clean(exclude=["recorded_by"])
    except forms.ValidationError as error:
        for field, errors in error.message_dict.items():
            for message in errors:
                form.add_error(field if field in form.fields else None, message)
        return False
    assessment.save()
    return True


@login_required
def assessments_page(request, pk: int, assessment_pk: int | None = None):
    """GET: the child's assessments (and the form for clinicians). POST: record one, or with
    ASSESSMENT_PK correct it. Strangers get 404; caregivers read, and get 403 on a POST."""
    child = get_object_or_404(Child.objects.visible_to(request.user), pk=pk)
    can_manage = Child.objects.managed_by(request.user).filter(pk=pk).exists()
    editing = None
    if assessment_pk is not None:
        editing = get_object_or_404(child.assessments, pk=assessment_pk)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied(_("Only the child's clinicians record visit assessments."))
        assessment = editing or VisitAssessment(child=child)
        form = AssessmentForm(request.POST)
        if _save(request, child, form, assessment):
            messages.success(request, _("Assessment saved."))
            return redirect("assessments", pk=child.pk)
        messages.error(request, _("Nothing was saved: correct the fields marked below."))
    elif editing is not None:
        form = AssessmentForm(initial=_initial(editing))
    else:
        form = AssessmentForm(initial={"date": child.today()})
    rows = child.assessments.select_related("recorded_by").order_by("-date")
    return render(
        request,
        "diary/assessments.html",
        {
            "child": child,
            "can_manage": can_manage,
            "form": form if can_manage else None,
            "editing": editing,
            "assessments": rows,
            "items": assessments.AGS_SCALE_ITEMS,
            "item_max": assessments.AGS_SCALE_MAX,
            "source": assessments.AGS_SCALE_SOURCE,
        },
    )
