"""Lab results: a whole panel on one form, the flags it raises, the schedule, the reminders."""

import json

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from diary import webpush
from diary.forms import DateInput
from diary.models import Channel, Child, PushSubscription, User
from diary.twofactor import is_staff_role
from outcomes import labs, reminders, schedule
from outcomes.models import NEEDS_ULN, UNITS, Analyte, LabFlag, Reminder
from outcomes.views import _visible

# Units whose name is a word, in the reader's language; the others are symbols.
UNIT_LABELS = {"cells/µL": gettext_lazy("cells/µL")}


class PanelForm(forms.Form):
    sample_date = forms.DateField(label=gettext_lazy("Sample date"), widget=DateInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for analyte in Analyte:
            canonical, accepted = UNITS[analyte]
            units = [u for u in accepted if u not in ("umol/L", "cells/uL", "10^9/L")]
            self.fields[f"{analyte}"] = forms.CharField(label=analyte.label, required=False)
            self.fields[f"{analyte}_unit"] = forms.ChoiceField(
                label=gettext_lazy("unit"),
                choices=[(u, UNIT_LABELS.get(u, u)) for u in units],
                initial=canonical,
                required=False,
            )
            if analyte in NEEDS_ULN:
                self.fields[f"{analyte}_uln"] = forms.CharField(
                    label=gettext_lazy("upper limit of normal"), required=False
                )
        self.fields["ifn_score_assay"] = forms.CharField(
            label=gettext_lazy("assay"), required=False
        )
        self.fields["ifn_score_threshold"] = forms.CharField(
            label=gettext_lazy("positivity threshold"), required=False
        )

    def rows(self):
        for analyte in Analyte:
            yield {
                "analyte": analyte,
                "value": self[f"{analyte}"],
                "unit": self[f"{analyte}_unit"],
                "uln": self[f"{analyte}_uln"] if analyte in NEEDS_ULN else None,
            }


@login_required
def labs_page(request, pk: int):
    child = _visible(request, pk)
    clinician = Child.objects.managed_by(request.user).filter(pk=pk).exists()
    items = labs.child_schedule(child)
    today = child.today()
    return render(
        request,
        "outcomes/labs.html",
        {
            "child": child,
            "clinician": clinician,
            "results": child.lab_results.prefetch_related("flags").select_related("entered_by")[
                :200
            ],
            "open_flags": LabFlag.objects.filter(child=child).open().select_related("result"),
            "next_due": schedule.next_due(items, today),
            "overdue": schedule.overdue(items, today, settings.REMINDER_DAYS_AFTER),
            "schedule": [
                (i, missing_names(i)) for i in items if i.due >= today - timezone.timedelta(days=30)
            ][:12],
            "reminders": Reminder.objects.filter(child=child).select_related("recipient")[:50]
            if clinician
            else [],
            "fhir_form": FHIRUploadForm() if clinician else None,
        },
    )


def missing_names(item: schedule.Due) -> str:
    """What a partly done test still lacks, in words: "Neutrophils, ALT or AST"."""
    if not item.partial:
        return ""
    return ", ".join(_(" or ").join(str(Analyte(a).label) for a in group) for group in item.missing)


@login_required
def lab_panel_create(request, pk: int):
    child = _visible(request, pk)
    form = PanelForm(request.POST or None, initial={"sample_date": child.today()})
    problems: dict[str, str] = {}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        entered = [a for a in Analyte if (data.get(f"{a}") or "").strip()]
        if not entered:
            problems["sample_date"] = _("Enter at least one result.")
        else:
            try:
                with transaction.atomic():
                    for analyte in entered:
                        try:
                            labs.record_lab(
                                child,
                                request.user,
                                analyte,
                                data["sample_date"],
                                data[f"{analyte}"].strip(),
                                data[f"{analyte}_unit"] or UNITS[analyte][0],
                                uln=(data.get(f"{analyte}_uln") or "").strip() or None,
                                assay=data.get("ifn_score_assay", "")
                                if analyte == "ifn_score"
                                else "",
                                positivity_threshold=(data.get("ifn_score_threshold") or None)
                                if analyte == "ifn_score"
                                else None,
                            )
                        except ValidationError as error:
                            for field, errors in error.message_dict.items():
                                problems[
                                    f"{analyte}" if field in ("value", "unit", "uln") else field
                                ] = " ".join(errors)
                    if problems:
                        raise _Rollback
            except _Rollback:
                pass
            else:
                messages.success(request, _("%(n)d results saved.") % {"n": len(entered)})
                return redirect("labs", pk=child.pk)
    return render(
        request,
        "outcomes/lab_form.html",
        {"child": child, "form": form, "problems": problems},
        status=400 if problems or form.errors else 200,
    )


class _Rollback(Exception):
    pass


@login_required
def flag_acknowledge(request, pk: int):
    if request.method != "POST":
        raise PermissionDenied
    flag = get_object_or_404(LabFlag.objects.visible_to(request.user), pk=pk)
    if not Child.objects.managed_by(request.user).filter(pk=flag.child_id).exists():
        raise PermissionDenied(_("Only the child's clinicians can acknowledge a flag."))
    if flag.acknowledged_at is None:
        flag.acknowledged_at = timezone.now()
        flag.acknowledged_by = request.user
        flag.save(update_fields=["acknowledged_at", "acknowledged_by"])
        messages.success(request, _("Flag acknowledged: %(message)s") % {"message": flag.message})
    return redirect("labs", pk=flag.child_id)


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = User
        fields = [
            "test_reminders",
            "test_reminder_channel",
            "diary_reminder_time",
            "diary_reminder_channel",
            "clinical_emails",
            "digest_emails",
        ]
        widgets = {"diary_reminder_time": forms.TimeInput(attrs={"type": "time"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not is_staff_role(self.instance):
            # A family has no clinical alerts or digests to turn on or off.
            for name in ("clinical_emails", "digest_emails"):
                del self.fields[name]
        for name in ("test_reminder_channel", "diary_reminder_channel"):
            # A form without the choice (an older page, a script) keeps the one saved.
            self.fields[name].required = False

    def clean(self):
        data = super().clean()
        for name in ("test_reminder_channel", "diary_reminder_channel"):
            if not data.get(name):
                data[name] = getattr(self.instance, name)
        return data


def _wants_notifications(user: User) -> bool:
    return (user.test_reminders and user.test_reminder_channel != Channel.EMAIL) or (
        user.diary_reminder_time is not None and user.diary_reminder_channel != Channel.EMAIL
    )


@login_required
def reminder_preferences(request):
    form = PreferencesForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        messages.success(request, _("Your reminder settings are saved."))
        if _wants_notifications(user) and not user.push_subscriptions.exists():
            messages.warning(
                request,
                _(
                    "No device has notifications turned on yet: turn them on below on each "
                    "phone that should receive them."
                ),
            )
        return redirect("reminder_preferences")
    user = request.user
    return render(
        request,
        "outcomes/preferences.html",
        {
            "form": form,
            "bounced": user.email_bounced_at,
            "devices": user.push_subscriptions.all(),
            "vapid_public_key": settings.VAPID_PUBLIC_KEY,
            "no_device": _wants_notifications(user) and not user.push_subscriptions.exists(),
        },
    )


def _json_body(request) -> dict | None:
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


@require_POST
@login_required
def push_subscribe(request):
    """Keep this device's push subscription (the browser's PushSubscription as JSON)."""
    data = _json_body(request)
    try:
        subscription = webpush.subscribe(
            request.user,
            data,
            webpush.device_label(request.META.get("HTTP_USER_AGENT", "")),
        )
    except webpush.SubscriptionError as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse({"id": subscription.pk, "device": subscription.device}, status=201)


@require_POST
@login_required
def push_unsubscribe(request):
    """Forget this device's subscription ({"endpoint": …}); someone else's is not found."""
    data = _json_body(request) or {}
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, str):
        return JsonResponse({"error": "endpoint is required"}, status=400)
    deleted, _rows = PushSubscription.objects.filter(user=request.user, endpoint=endpoint).delete()
    return HttpResponse(status=204 if deleted else 404)


@require_POST
@login_required
def push_device_remove(request, pk: int):
    """Turn notifications off for one of the user's devices, from the list."""
    device = get_object_or_404(PushSubscription.objects.filter(user=request.user), pk=pk)
    device.delete()
    messages.success(
        request,
        _("Notifications are off for %(device)s.")
        % {"device": device.device or _("Unnamed device")},
    )
    return redirect("reminder_preferences")


@csrf_exempt  # one-click unsubscribe (RFC 8058) comes from the mail client, without a cookie
def unsubscribe(request, token: str):
    try:
        data = signing.loads(token, salt=reminders.SALT)
        user = User.objects.get(pk=data["u"])
    except (signing.BadSignature, User.DoesNotExist, KeyError):
        return render(request, "outcomes/unsubscribe.html", {"problem": True}, status=404)
    if request.method == "POST":
        # Never urgent alerts: only the signed-in user changes those, on the preferences page.
        changes = reminders.UNSUBSCRIBE.get(data["w"], {})
        for name, value in changes.items():
            setattr(user, name, value)
        if changes:
            user.save(update_fields=list(changes))
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse(status=200)
        return render(request, "outcomes/unsubscribe.html", {"done": True, "what": data["w"]})
    return render(request, "outcomes/unsubscribe.html", {"what": data["w"]})


class FHIRUploadForm(forms.Form):
    bundle = forms.FileField(
        label=gettext_lazy("Hospital results (FHIR JSON)"),
        help_text=gettext_lazy(
            "A FHIR R4 Bundle of laboratory Observations, or one Observation, from the hospital "
            "system."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )


@login_required
def lab_fhir_import(request, pk: int):
    """The labs page's upload of hospital results as FHIR: the API's import, from a file."""
    from diary.api.parsers import MAX_DEPTH, depth_over
    from outcomes.api.fhir import run_import
    from outcomes.fhir import labs_import

    child = _visible(request, pk)
    if not Child.objects.managed_by(request.user).filter(pk=child.pk).exists():
        raise PermissionDenied(_("Only the child's clinicians can import results."))
    form = FHIRUploadForm(request.POST or None, request.FILES or None)
    problems, detail = [], ""
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["bundle"]
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            if upload.size > limit:
                raise labs_import.BadRequest(
                    _("The file is too large: send at most %(size)d bytes.") % {"size": limit}
                )
            raw = upload.read()
            data = labs_import.body_json(raw)
            if depth_over(data, MAX_DEPTH):
                raise labs_import.BadRequest(
                    _("The JSON is nested too deeply: at most %(depth)d levels.")
                    % {"depth": MAX_DEPTH}
                )
        except labs_import.BadRequest as error:
            detail = str(error)
        else:
            status, answer = run_import(request, child, data, raw)
            if status < 400:
                messages.success(
                    request,
                    _("Hospital results imported: %(new)d new, %(old)d already stored.")
                    % {"new": answer["created"], "old": answer["unchanged"]},
                )
                return redirect("labs", pk=child.pk)
            detail, problems = answer["detail"], answer["problems"]
    return render(
        request,
        "outcomes/lab_fhir_import.html",
        {"child": child, "fhir_form": form, "problems": problems, "detail": detail},
        status=400 if detail or form.errors else 200,
    )
