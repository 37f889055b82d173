"""Entering lab results: units converted to one canonical unit, impossible values refused."""

import math
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from diary.models import Child, Prescription
from outcomes import schedule, thresholds, treatment
from outcomes.guideline import number as guideline_number
from outcomes.models import NEEDS_ULN, PLAUSIBLE, UNITS, Analyte, LabFlag, LabResult
from outcomes.thresholds import exact_value


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
        try:
            converted = (number * accepted[unit]).quantize(Decimal("0.001"))
        except InvalidOperation:  # 1e30: more digits than a result can have
            converted = None
    low, high = PLAUSIBLE[analyte]
    if converted is None or not low <= converted <= high:
        raise ValidationError(
            {
                "value": _("%(value)s %(unit)s is not a possible value.")
                % {"value": value, "unit": unit}
            }
        )
    return converted, canonical


def uln_missing(analyte: str) -> str:
    return _(
        "Give the laboratory's upper limit of normal for %(name)s: the guideline's rule for it "
        "is a multiple of that limit (SPARN JAKi guideline §6.7)."
    ) % {"name": Analyte(analyte).label}


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
    source_key: str = "",
) -> LabResult:
    """Store one result in its canonical unit, then the guideline flags it raises; clinicians
    are emailed about urgent ones (after the transaction commits) when ALERT."""
    converted, canonical = to_canonical(analyte, value, unit)
    if uln not in (None, ""):
        try:
            uln, _unit = to_canonical(analyte, uln, unit)
        except ValidationError as error:
            raise ValidationError({"uln": error.messages}) from None
        if uln <= 0:
            raise ValidationError({"uln": _("The upper limit of normal must be more than 0.")})
    elif analyte in NEEDS_ULN:
        # The §6.7 rules are multiples of the laboratory's ULN: without it the result could not
        # be judged, so it is not stored (no site default: ranges differ by age and laboratory).
        raise ValidationError({"uln": uln_missing(analyte)})
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
        source_key=source_key,
        caregiver_entered=not Child.objects.managed_by(user).filter(pk=child.pk).exists()
        if user
        else False,
    )
    result.full_clean()
    treatment.set_egfr(result)
    with transaction.atomic():
        result.save()
        flag_result(result, alert=alert)
    return result


def drug_on(child: Child, day) -> str | None:
    """The JAK inhibitor whose rules judge a result sampled on DAY: the one in force, or during
    an interruption or after a stop the last one given; None before any."""
    last = (
        Prescription.objects.filter(child=child, start_date__lte=day)
        .exclude(morning_mg=0, afternoon_mg=0, evening_mg=0)
        .order_by("-start_date")
        .values_list("drug", flat=True)
        .first()
    )
    return last


def flag_result(result: LabResult, alert: bool = True) -> list[LabFlag]:
    """Evaluate RESULT (and its eGFR) against the guideline for the child's drug on the sample
    date; a new eGFR also checks the current prescription against the tables."""
    child = result.child
    drug = drug_on(child, result.sample_date)
    treated = drug is not None
    # The rules look back at the same test only, and at the same day's bilirubin (ALT/AST).
    history = [
        thresholds.Result(a, exact_value(v, ev, eu), d, u)
        for a, v, ev, eu, d, u in LabResult.objects.filter(
            child=child,
            analyte__in={result.analyte, "bilirubin"},
            sample_date__lte=result.sample_date,
        )
        .exclude(pk=result.pk)
        .values_list("analyte", "value", "entered_value", "entered_unit", "sample_date", "uln")
    ]
    value = exact_value(result.value, result.entered_value, result.entered_unit)
    checked = [thresholds.Result(result.analyte, value, result.sample_date, result.uln)]
    if result.egfr is not None:
        checked.append(thresholds.Result("egfr", result.egfr, result.sample_date))
    found = [f for item in checked for f in thresholds.flags_for(drug, item, history, treated)]
    if result.egfr is not None:
        found += dose_flags(child)
    flags = []
    for flag in found:
        row, created = LabFlag.objects.get_or_create(
            result=result,
            code=flag.code,
            defaults={
                "child": child,
                "day": result.sample_date,
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


def dose_flags(child: Child) -> list[thresholds.Flag]:
    """A flag when the current prescription is now above the table's maximum for the child's
    latest weight and eGFR, while it was not (or could not be checked) at its start."""
    today = child.today()
    prescription = Prescription.objects.filter(child=child).in_force_on(today)
    if prescription is None or prescription.total_mg <= 0:
        return []
    now = treatment.inputs_for(child, today)
    then = treatment.inputs_for(child, prescription.start_date)
    maximum, source = treatment.table_maximum(prescription, now)
    if maximum is None or prescription.total_mg <= maximum:
        return []
    before, _source = treatment.table_maximum(prescription, then)
    if before is not None and prescription.total_mg > before:
        return []  # above the table from its start: the reason given then stands
    return [
        thresholds.Flag(
            "dose",
            "dose-above-maximum",
            thresholds.ADJUST,
            _(
                "%(total)s mg/day of %(drug)s is now above the guideline's maximum of %(max)s "
                "mg/day for this child's weight and eGFR: review the dose."
            )
            % {
                "total": guideline_number(prescription.total_mg),
                "drug": prescription.get_drug_display(),
                "max": guideline_number(maximum),
            },
            source,
        )
    ]


def flag_child(child: Child, day, flags: list[thresholds.Flag], alert: bool = True) -> list:
    """Store FLAGS raised on DAY by something other than a result (a weight, a diary day);
    clinicians are emailed about urgent new ones."""
    rows = []
    for flag in flags:
        row, created = LabFlag.objects.get_or_create(
            child=child,
            code=flag.code,
            day=day,
            result=None,
            defaults={"severity": flag.severity, "message": flag.message, "source": flag.source},
        )
        if created:
            rows.append(row)
    if alert and any(r.severity in thresholds.URGENT for r in rows):
        from outcomes import reminders

        reminders.alert_child_clinicians(child, day, test="flags")
    return rows


def child_schedule(child: Child) -> list[schedule.Due]:
    """The child's monitoring schedule from their prescriptions, weights and results."""
    known_weights = treatment.weights_of([child.pk]).get(child.pk, [])
    known_egfrs = treatment.egfrs([child.pk]).get(child.pk, [])
    courses = [
        treatment.schedule_course(
            p.drug, p.start_date, p.total_mg, p.reason, known_weights, known_egfrs
        )
        for p in child.prescriptions.all()
    ]
    results = schedule_results(
        child.lab_results.values_list(
            "analyte", "sample_date", "value", "entered_value", "entered_unit"
        )
    )
    return schedule.schedule(courses, results, child.today(), treatment.schedule_settings())


def schedule_results(rows) -> list[tuple[str, date, Decimal]]:
    """(analyte, date, value) from (analyte, date, value, entered value, entered unit) rows,
    BK loads entered in copies/mL as their unrounded log10."""
    return [(a, d, exact_value(v, ev, eu)) for a, d, v, ev, eu in rows]
