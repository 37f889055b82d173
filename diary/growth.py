"""Height, weight and BMI as SDS (Z-scores) and centiles against a growth reference (DOMAIN §6b),
computed by the RCPCH's maintained library `rcpchgrowth` for the site's reference: UK-WHO,
WHO or CDC.

Pure functions over plain values: the diary's save path stores what `growth_values` returns
with the measurement, with the reference used, so that a later change of the site's reference
never changes a stored value.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# An SDS beyond these is a likely typing error (rcpchgrowth's own error limits: ±8 for height
# and weight, ±15 for BMI, whose distribution is far more skewed): stored only once confirmed.
SDS_LIMITS = {"height": 8.0, "weight": 8.0, "bmi": 15.0}
MEASURES = ("height", "weight", "bmi")


class GrowthReference(models.TextChoices):
    UK_WHO = "uk-who", gettext_lazy("UK-WHO (UK90 from 4 years)")
    WHO = "who", gettext_lazy("WHO 2006/2007")
    CDC = "cdc", gettext_lazy("CDC 2000 (WHO under 2 years)")


DEFAULT_REFERENCE = GrowthReference.UK_WHO
# rcpchgrowth's sexes; a child whose sex is "other / not stated" has no reference.
SEXES = {"F": "female", "M": "male"}


class UnknownReference(ValueError):
    """A growth reference the app does not know: nothing is computed or stored."""


@dataclass(frozen=True)
class Score:
    measure: str  # height, weight, bmi
    value: float | None  # the measurement (BMI: computed, kg/m²)
    sds: float | None
    centile: float | None
    reason: str | None = None  # why there is no SDS

    @property
    def implausible(self) -> bool:
        return self.sds is not None and abs(self.sds) > SDS_LIMITS[self.measure]


def bmi(weight_kg, height_cm) -> Decimal | None:
    """BMI in kg/m², two decimals; None without both."""
    if weight_kg is None or height_cm is None:
        return None
    metres = Decimal(height_cm) / 100
    return (Decimal(weight_kg) / (metres * metres)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def check_reference(reference: str) -> str:
    if reference not in GrowthReference.values:
        raise UnknownReference(
            _("Unknown growth reference %(reference)s: choose one of %(choices)s.")
            % {"reference": repr(reference), "choices": ", ".join(GrowthReference.values)}
        )
    return reference


def score(
    reference: str, sex: str, birth: date, day: date, measure: str, value: float | None
) -> Score:
    """The SDS and centile of one measurement (SEX as the diary stores it: F, M or X)."""
    check_reference(reference)
    if value is None:
        return Score(measure, None, None, None)
    if sex not in SEXES:
        return Score(measure, value, None, None, _("the references are by sex: none is stated"))
    if day < birth:
        return Score(measure, value, None, None, _("measured before the date of birth"))
    # Imported here: loading the reference tables costs a moment, paid only when measuring.
    from rcpchgrowth import Measurement

    result = Measurement(
        birth_date=birth,
        observation_date=day,
        measurement_method=measure,
        observation_value=float(value),
        reference=reference,
        sex=SEXES[sex],
    ).measurement["measurement_calculated_values"]
    sds = result["chronological_sds"]
    if sds is None:
        return Score(measure, value, None, None, _("age outside the reference's range"))
    centile = result["chronological_centile"]
    return Score(measure, value, float(sds), None if centile is None else float(centile))


def scores(reference: str, sex: str, birth: date, day: date, weight_kg, height_cm) -> list[Score]:
    """Height, weight and BMI (when both were measured that day) scores of one day."""
    return [
        score(reference, sex, birth, day, "height", height_cm),
        score(reference, sex, birth, day, "weight", weight_kg),
        score(reference, sex, birth, day, "bmi", bmi(weight_kg, height_cm)),
    ]


def _rounded(value: float | None, places: int) -> float | None:
    return None if value is None else round(value, places)


def growth_values(reference: str, found: list[Score], confirmed: bool) -> dict:
    """The fields a GrowthMeasurement stores for FOUND (SDS to 3 places, centiles to 2)."""
    by = {s.measure: s for s in found}
    return {
        "growth_reference": reference,
        "height_sds": _rounded(by["height"].sds, 3),
        "height_centile": _rounded(by["height"].centile, 2),
        "weight_sds": _rounded(by["weight"].sds, 3),
        "weight_centile": _rounded(by["weight"].centile, 2),
        "bmi": by["bmi"].value,
        "bmi_sds": _rounded(by["bmi"].sds, 3),
        "bmi_centile": _rounded(by["bmi"].centile, 2),
        "sds_confirmed": confirmed and any(s.implausible for s in found),
    }


def implausible_message(found: list[Score]) -> dict[str, str]:
    """{field: message} for each measurement whose SDS is beyond its limit (SDS_LIMITS)."""
    fields = {"height": "height_cm", "weight": "weight_kg", "bmi": "weight_kg"}
    out = {}
    for s in found:
        # A BMI follows from the height and weight: said only when neither is extreme itself.
        if s.implausible and fields[s.measure] not in out and not (s.measure == "bmi" and out):
            out[fields[s.measure]] = _(
                "This %(measure)s is %(sds)s SDS for the child's age and sex, beyond ±%(limit)s: "
                "probably a typing error. Check it, or confirm it to store it as it is."
            ) % {
                "measure": MEASURE_LABELS[s.measure](),
                "sds": f"{s.sds:+.1f}",
                "limit": int(SDS_LIMITS[s.measure]),
            }
    return out


MEASURE_LABELS = {
    "height": lambda: _("height"),
    "weight": lambda: _("weight"),
    "bmi": lambda: _("BMI"),
}
