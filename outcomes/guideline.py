"""The guideline's dosing tables, eGFR and steroid equivalents, as pure functions.

Source: SPARN guideline "Use of Janus kinase inhibitors (JAKi): tofacitinib, baricitinib,
ruxolitinib" (seeds/sparn-jak-inhibitor-guideline.txt) §5.3, §6.1–6.6, appendices 2–3; the
mg/kg/day range from the CHOP baricitinib programme (Vanderver et al., NEJM 2020). This is
decision support: every message names its source and the treating team decides.

Band boundaries: the baricitinib tables read "<20 kg", "20–40 kg", ">40 kg", so a child of
exactly 20 kg or exactly 40 kg is dosed in the 20–40 kg band (the literal reading, and the lower
dose at 40 kg). The tofacitinib table reads "20 – <40 kg" and "≥ 40 kg": 40 kg is in the top band.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

GUIDELINE = "SPARN JAKi guideline"
CHOP_MAX_MG_PER_KG = Decimal("0.6")  # CHOP: baricitinib 0.1–0.6 mg/kg/day (NEJM 2020)
EGFR_THRESHOLD = 120  # mL/min/1.73m², SPARN §6.2b iii
MG_PER_DL_TO_UMOL_PER_L = Decimal("88.4")


class GuidelineInputError(ValueError):
    """An input the guideline cannot be applied to; PARAMETER names it."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True)
class Regimen:
    morning: Decimal = Decimal(0)
    afternoon: Decimal = Decimal(0)
    evening: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.morning + self.afternoon + self.evening

    def as_dict(self) -> dict:
        return {
            "morning": _number(self.morning),
            "afternoon": _number(self.afternoon),
            "evening": _number(self.evening),
            "total": _number(self.total),
        }


def _number(value: Decimal) -> int | float:
    return int(value) if value == int(value) else float(value)


def regimen(morning, afternoon, evening) -> Regimen:
    return Regimen(Decimal(str(morning)), Decimal(str(afternoon)), Decimal(str(evening)))


@dataclass(frozen=True)
class DoseGuidance:
    initial: Regimen
    escalation: Regimen | None
    maximum_total: Decimal  # the highest daily dose the guideline gives this child
    source: str
    notes: tuple[str, ...] = field(default_factory=tuple)


# SPARN §6.3 (eGFR > 120) and appendix 2 (eGFR ≤ 120): weight band → (initial, escalation).
BARICITINIB_INTERFERONOPATHY = {
    "high_egfr": {
        "<20": (regimen(2, 2, 2), regimen(2, 4, 2)),
        "20-40": (regimen(4, 0, 2), regimen(4, 0, 4)),
        ">40": (regimen(4, 0, 4), regimen(6, 0, 4)),
    },
    "low_egfr": {
        "<20": (regimen(2, 0, 2), regimen(2, 2, 2)),
        "20-40": (regimen(2, 0, 2), regimen(4, 0, 2)),
        ">40": (regimen(2, 0, 2), regimen(4, 0, 2)),
    },
}
# §6.3: "option to maximise evening dose to 6mg … after discussion with tertiary team".
BARICITINIB_TERTIARY_MAXIMUM = Decimal(12)

# SPARN §5.3 (BNFC; under 10 kg as in Ruperto et al.): lower bound of the band (kg) → mg bd.
TOFACITINIB_JIA = [
    (Decimal(40), Decimal(5)),
    (Decimal(20), Decimal(4)),
    (Decimal(10), Decimal("3.2")),
    (Decimal(7), Decimal("2.5")),
    (Decimal(5), Decimal(2)),
]

INDICATIONS = ("interferonopathy", "jdm", "jia")
DRUGS = ("baricitinib", "ruxolitinib", "tofacitinib")


def weight_band(weight_kg: Decimal) -> str:
    if weight_kg < 20:
        return "<20"
    if weight_kg <= 40:
        return "20-40"
    return ">40"


def dose_guidance(
    drug: str,
    indication: str,
    weight_kg=None,
    age_years=None,
    egfr=None,
) -> DoseGuidance:
    """The guideline's initial and escalation regimens for one child."""
    if drug not in DRUGS:
        raise GuidelineInputError("drug", _("Unknown drug: use one of %s.") % ", ".join(DRUGS))
    if indication not in INDICATIONS:
        raise GuidelineInputError(
            "indication", _("Unknown indication: use one of %s.") % ", ".join(INDICATIONS)
        )
    weight = _positive(weight_kg, "weight_kg", upper=250)
    age = _positive(age_years, "age_years", upper=25, allow_zero=True)
    egfr_value = _positive(egfr, "egfr", upper=400)

    if drug == "baricitinib" and indication == "interferonopathy":
        if weight is None:
            raise GuidelineInputError("weight_kg", _("Give the weight in kg."))
        if egfr_value is None:
            raise GuidelineInputError("egfr", _("Give the eGFR (mL/min/1.73m²)."))
        high = egfr_value > EGFR_THRESHOLD
        band = weight_band(weight)
        initial, escalation = BARICITINIB_INTERFERONOPATHY["high_egfr" if high else "low_egfr"][
            band
        ]
        notes = []
        maximum = escalation.total
        if high and band == ">40":
            maximum = BARICITINIB_TERTIARY_MAXIMUM
            notes.append(
                _(
                    "The evening dose may go up to 6 mg (12 mg/day) if tolerated, after "
                    "discussion with the tertiary team."
                )
            )
        notes.append(_("Escalate if baseline bloods are normal."))
        source = (
            f"{GUIDELINE} §6.3 (eGFR > 120 mL/min/1.73m²)"
            if high
            else f"{GUIDELINE} §6.4, appendix 2 (eGFR ≤ 120 mL/min/1.73m²)"
        )
        return DoseGuidance(initial, escalation, maximum, source, tuple(notes))

    if drug == "baricitinib" and indication == "jdm":
        if age is None:
            raise GuidelineInputError("age_years", _("Give the age in years."))
        mg = 2 if age < 6 else 4
        return DoseGuidance(
            regimen(mg, 0, 0),
            None,
            Decimal(mg),
            f"{GUIDELINE} §6.5 (BAR-JDM protocol)",
            (_("Dose increases can be considered at 3 or 6 months as per §6.3."),),
        )

    if drug == "baricitinib" and indication == "jia":
        if age is None:
            raise GuidelineInputError("age_years", _("Give the age in years."))
        whole = int(age)
        if not 2 <= whole <= 17:
            raise GuidelineInputError(
                "age_years", _("The guideline gives baricitinib doses for JIA from 2 to 17 years.")
            )
        mg = 2 if whole <= 8 else 4
        return DoseGuidance(
            regimen(mg, 0, 0),
            None,
            Decimal(mg),
            f"{GUIDELINE} §6.6, appendix 3 (JUVE-BASIS)",
            (_("Tofacitinib is first line for this indication."),),
        )

    if drug == "tofacitinib" and indication == "jia":
        if weight is None:
            raise GuidelineInputError("weight_kg", _("Give the weight in kg."))
        for lower, mg in TOFACITINIB_JIA:
            if weight >= lower:
                return DoseGuidance(
                    regimen(mg, 0, mg),
                    None,
                    mg * 2,
                    f"{GUIDELINE} §5.3 (BNFC; Ruperto et al.)",
                    (_("Under 40 kg: the 1 mg/mL oral solution."),) if weight < 40 else (),
                )
        raise GuidelineInputError(
            "weight_kg", _("The guideline gives tofacitinib doses from 5 kg.")
        )

    if drug == "ruxolitinib":
        raise GuidelineInputError(
            "drug",
            _(
                "The guideline gives no ruxolitinib dose: decide case by case with the MDT "
                "(%(source)s §3.3)."
            )
            % {"source": GUIDELINE},
        )
    raise GuidelineInputError(
        "indication",
        _("The guideline gives no %(drug)s dose for this indication (%(source)s §3).")
        % {"drug": drug, "source": GUIDELINE},
    )


def _positive(value, name: str, upper: float, allow_zero: bool = False) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise GuidelineInputError(name, _("%(name)s must be a number.") % {"name": name}) from None
    if not number.is_finite() or number < 0 or (number == 0 and not allow_zero) or number > upper:
        raise GuidelineInputError(
            name, _("%(name)s=%(value)s is not possible.") % {"name": name, "value": value}
        )
    return number


# --- Warnings on a prescription -----------------------------------------------------------


@dataclass(frozen=True)
class Caution:
    message: str
    source: str


def prescription_warnings(
    drug: str,
    indication: str,
    total_mg: Decimal,
    weight_kg=None,
    age_years=None,
    egfr=None,
) -> list[Caution]:
    """Why a prescription deserves a second look; the clinician may still save it."""
    warnings = []
    try:
        guidance = dose_guidance(drug, indication, weight_kg, age_years, egfr)
    except GuidelineInputError:
        guidance = None
    if guidance is not None and total_mg > guidance.maximum_total:
        warnings.append(
            Caution(
                _(
                    "%(total)s mg/day is above the guideline's maximum of %(max)s mg/day for this "
                    "child."
                )
                % {"total": _number(total_mg), "max": _number(guidance.maximum_total)},
                guidance.source,
            )
        )
    if drug == "baricitinib" and weight_kg:
        per_kg = total_mg / Decimal(str(weight_kg))
        if per_kg > CHOP_MAX_MG_PER_KG:
            warnings.append(
                Caution(
                    _(
                        "%(per_kg)s mg/kg/day is above 0.6 mg/kg/day, the highest dose of the CHOP "
                        "programme."
                    )
                    % {"per_kg": round(per_kg, 2)},
                    "CHOP baricitinib programme (Vanderver et al., NEJM 2020)",
                )
            )
    if drug == "baricitinib" and egfr is not None and Decimal(str(egfr)) < 30:
        warnings.append(
            Caution(
                _(
                    "Baricitinib is not recommended below a creatinine clearance of 30 mL/min "
                    "(adults; below 10 mL/min in severe renal failure)."
                ),
                f"{GUIDELINE} §6.1, §6.2b (EMC)",
            )
        )
    return warnings


# --- eGFR, steroid equivalents, weight on a day ----------------------------------------------

EGFR_CONSTANT = Decimal(36)  # SPARN §6.2b: "Haycock Schwartz", µmol/L


@dataclass(frozen=True)
class Egfr:
    value: Decimal  # mL/min/1.73m²
    constant: Decimal
    creatinine_umol_l: Decimal
    height_cm: Decimal


def schwartz_egfr(height_cm, creatinine, unit: str = "umol/L", constant=EGFR_CONSTANT) -> Egfr:
    """eGFR = constant × height (cm) / creatinine (µmol/L); creatinine in mg/dL is × 88.4."""
    height = Decimal(str(height_cm))
    value = Decimal(str(creatinine))
    if unit == "mg/dL":
        value = value * MG_PER_DL_TO_UMOL_PER_L
    elif unit != "umol/L":
        raise GuidelineInputError("unit", _("Creatinine unit must be µmol/L or mg/dL."))
    if value <= 0:
        raise GuidelineInputError("creatinine", _("Creatinine must be more than 0."))
    if height <= 0:
        raise GuidelineInputError("height_cm", _("Height must be more than 0 cm."))
    constant = Decimal(str(constant))
    return Egfr((constant * height / value).quantize(Decimal("0.1")), constant, value, height)


# DOMAIN §4: prednisone 5 mg = prednisolone 5 mg = methylprednisolone 4 mg
# = hydrocortisone 20 mg = dexamethasone 0.75 mg.
PREDNISONE_FACTOR = {
    "prednisone": Decimal(1),
    "prednisolone": Decimal(1),
    "methylprednisolone": Decimal("1.25"),
    "hydrocortisone": Decimal("0.25"),
    "dexamethasone": Decimal("6.67"),
}


def prednisone_equivalent(drug: str, mg) -> Decimal:
    return Decimal(str(mg)) * PREDNISONE_FACTOR[drug]


def weight_on(day: date, weights: list[tuple[date, Decimal]]) -> Decimal | None:
    """The weight measured on DAY or most recently before it; else the nearest after it."""
    before = [(d, w) for d, w in weights if d <= day and w is not None]
    if before:
        return max(before)[1]
    after = [(d, w) for d, w in weights if d > day and w is not None]
    return min(after)[1] if after else None


def mg_per_kg(mg, weight_kg) -> Decimal | None:
    if weight_kg in (None, 0):
        return None
    return (Decimal(str(mg)) / Decimal(str(weight_kg))).quantize(Decimal("0.001"))
