"""Entering lab results: units converted to one canonical unit, impossible values refused."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from diary.models import Child
from outcomes.models import PLAUSIBLE, UNITS, LabResult
from outcomes.treatment import set_egfr


def to_canonical(analyte: str, value, unit: str) -> tuple[Decimal, str]:
    """VALUE in UNIT as (value, unit) in the analyte's canonical unit, or ValidationError."""
    if analyte not in UNITS:
        raise ValidationError({"analyte": _("Unknown test: %(name)s.") % {"name": analyte}})
    canonical, accepted = UNITS[analyte]
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


def record_lab(child: Child, user, analyte: str, sample_date, value, unit: str) -> LabResult:
    converted, canonical = to_canonical(analyte, value, unit)
    result = LabResult(
        child=child,
        sample_date=sample_date,
        analyte=analyte,
        value=converted,
        unit=canonical,
        entered_value=Decimal(str(value).replace(",", ".")),
        entered_unit=unit,
        entered_by=user,
        caregiver_entered=not Child.objects.managed_by(user).filter(pk=child.pk).exists(),
    )
    result.full_clean()
    set_egfr(result)
    with transaction.atomic():
        result.save()
    return result
