"""Entering lab results: units converted to one canonical unit, impossible values refused."""

import math
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from diary.models import Child, Prescription
from outcomes import schedule, thresholds
from outcomes.models import PLAUSIBLE, UNITS, LabFlag, LabResult
from outcomes.treatment import set_egfr


def to_canonical(analyte: str, value, unit: str) -> tuple[Decimal, str]:
    """VALUE in UNIT as (value, unit) in the analyte's canonical unit, or ValidationError."""
    if analyte not in UNITS:
        raise ValidationError({"analyte": _("Unknown test: %(name)s.") % {"name": analyte}})
    canonical, accepted = UNITS[analyte]
    if not unit and len(accepted) == 1:
        unit = canonical
    if unit not in accepted:
        raise ValidationError(
            {
                "unit": _("Unknown unit %(unit)s: use one of %(units)s.")
                % {"unit": unit, "units": ", ".join(u for u in accepted if u != "umol/L")}
            }
        )
    try:
        number = Decimal(str(value).replace(",", "."))
    except InvalidOperation:
        raise ValidationError({"value": _("Enter a number.")}) from None
    if not number.is_finite() or number < 0:
        raise ValidationError({"value": _("A result cannot be negative.")})
    if accepted[unit] is None:  # copies/mL, stored as log10
        if number <= 0:
            raise ValidationError({"value": _("Enter a number of copies above 0.")})
        converted = Decimal(str(math.log10(number))).quantize(Decimal("0.001"))
    else:
        converted = (number * accepted[unit]).quantize(Decimal("0.001"))
    low, high = PLAUSIBLE[analyte]
    if not number.is_finite() or not low <= converted <= high:
        raise ValidationError(
            {
                "value": _("%(value)s %(unit)s is not a possible value.")
                % {"value": value, "unit": unit}
            }
        )
    return converted, canonical


def record_lab(
    child: Child,
    user,
    analyte: str,
    sample_date,
    value,
    unit: str,
    uln=None,
    assay: str = "",
    positivity_threshold=None,
    alert: bool = True,
) -> LabResult:
    """Store one result in its canonical unit, then the guideline flags it raises; clinicians
    are emailed about urgent ones (after the transaction commits) when ALERT."""
    converted, canonical = to_canonical(analyte, value, unit)
    if uln not in (None, ""):
        uln, _unit = to_canonical(analyte, uln, unit)
    result = LabResult(
        child=child,
        sample_date=sample_date,
        analyte=analyte,
        value=converted,
        unit=canonical,
        entered_value=Decimal(str(value).replace(",", ".")),
        entered_unit=unit or canonical,
        entered_by=user,
        uln=uln or None,
        assay=assay or "",
        positivity_threshold=positivity_threshold,
        caregiver_entered=not Child.objects.managed_by(user).filter(pk=child.pk).exists()
        if user
        else False,
    )
    result.full_clean()
    set_egfr(result)
    with transaction.atomic():
        result.save()
        flag_result(result, alert=alert)
    return result


def flag_result(result: LabResult, alert: bool = True) -> list[LabFlag]:
    """Evaluate RESULT (and its eGFR) against the guideline for the child's drug."""
    child = result.child
    prescription = Prescription.objects.filter(child=child).in_force_on(result.sample_date)
    drug = prescription.drug if prescription and prescription.total_mg > 0 else None
    treated = (
        Prescription.objects.filter(child=child, start_date__lte=result.sample_date)
        .exclude(morning_mg=0, afternoon_mg=0, evening_mg=0)
        .exists()
    )
    # The rules look back at the same test only, and at the same day's bilirubin (ALT/AST).
    history = [
        thresholds.Result(a, v, d, u)
        for a, v, d, u in LabResult.objects.filter(
            child=child,
            analyte__in={result.analyte, "bilirubin"},
            sample_date__lte=result.sample_date,
        )
        .exclude(pk=result.pk)
        .values_list("analyte", "value", "sample_date", "uln")
    ]
    checked = [thresholds.Result(result.analyte, result.value, result.sample_date, result.uln)]
    if result.egfr is not None:
        checked.append(thresholds.Result("egfr", result.egfr, result.sample_date))
    flags = []
    for item in checked:
        for flag in thresholds.flags_for(drug, item, history, treated):
            row, created = LabFlag.objects.get_or_create(
                result=result,
                code=flag.code,
                defaults={
                    "severity": flag.severity,
                    "message": flag.message,
                    "source": flag.source,
                },
            )
            if created:
                flags.append(row)
    if result.analyte == "bilirubin":
        # ALT/AST above 3 × ULN count with the same day's bilirubin (§6.7): a panel saves
        # ALT/AST first, so they are judged again once the bilirubin is in.
        for other in LabResult.objects.filter(
            child=child, sample_date=result.sample_date, analyte__in=("alt", "ast")
        ):
            flags += flag_result(other, alert=False)
    if alert and any(f.severity in thresholds.URGENT for f in flags):
        from outcomes import reminders

        reminders.alert_clinicians(result)
    return flags


def child_schedule(child: Child) -> list[schedule.Due]:
    """The child's monitoring schedule from their prescriptions and results (two queries)."""
    courses = [
        schedule.Course(p.drug, p.start_date, p.total_mg, p.reason == "escalation")
        for p in child.prescriptions.all()
    ]
    results = list(child.lab_results.values_list("analyte", "sample_date", "value"))
    return schedule.schedule(courses, results, child.today())
