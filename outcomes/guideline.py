"""The guideline's dosing tables, eGFR and steroid equivalents, as pure functions.

Source: SPARN guideline "Use of Janus kinase inhibitors (JAKi): tofacitinib, baricitinib,
ruxolitinib" (seeds/sparn-jak-inhibitor-guideline.txt) §5.3, §6.1–6.6, appendices 2–3; the
mg/kg/day range from the CHOP baricitinib programme (Vanderver et al., NEJM 2020). This is
decision support: every message names its source and the treating team decides.

Band boundaries: the baricitinib tables read "<20 kg", "20–40 kg", ">40 kg", so a child of
exactly 20 kg or exactly 40 kg is dosed in the 20–40 kg band (the literal reading, and the lower
dose at 40 kg). The tofacitinib table reads "20 – <40 kg" and "≥ 40 kg": 40 kg is in the top band.
"""

from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from diary import language

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
            "morning": number(self.morning),
            "afternoon": number(self.afternoon),
            "evening": number(self.evening),
            "total": number(self.total),
        }


def number(value: Decimal) -> int | float:
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
    """The guideline's initial and escalation regimens for one child, with its renal and age
    limits among the notes (each naming its section)."""
    guidance = _table_guidance(drug, indication, weight_kg, age_years, egfr)
    extra = tuple(
        f"{c.message} ({c.source})" for c in guidance_notes(drug, weight_kg, age_years, egfr)
    )
    if not extra:
        return guidance
    return DoseGuidance(
        guidance.initial,
        guidance.escalation,
        guidance.maximum_total,
        guidance.source,
        extra + guidance.notes,
    )


def _table_guidance(drug: str, indication: str, weight_kg, age_years, egfr) -> DoseGuidance:
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
            _("%(guideline)s §6.3 (eGFR > 120 mL/min/1.73m²)")
            if high
            else _("%(guideline)s §6.4, appendix 2 (eGFR ≤ 120 mL/min/1.73m²)")
        ) % {"guideline": GUIDELINE}
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


def above_guideline_dose(total_mg, guidance: "DoseGuidance | None") -> str | None:
    """Why TOTAL_MG mg/day (a dose in force) is above the guideline's dose for this child, naming
    the section and leaving the decision to the team; None when it is not above (or no
    guidance)."""
    if guidance is None or total_mg is None:
        return None
    total = Decimal(str(total_mg))
    top = guidance.escalation or guidance.initial
    values = {
        "total": language.number(total),
        "dose": language.number(top.total),
        "max": language.number(guidance.maximum_total),
    }
    if total > guidance.maximum_total:
        text = (
            _("%(total)s mg/day is above the guideline's maximum of %(max)s mg/day for this child.")
            % values
        )
    elif total > top.total:
        text = (
            _(
                "%(total)s mg/day is above the guideline's dose of %(dose)s mg/day for this child "
                "(maximum %(max)s mg/day)."
            )
            % values
        )
    else:
        return None
    return f"{text} ({guidance.source}) {team_decides()}"


def team_decides() -> str:
    return _("Decision support: the treating team decides.")


@dataclass(frozen=True)
class Caution:
    """Why a prescription deserves a second look. KIND "dose": the guideline's dose or a limit
    is crossed (or may be: BLOCKING, a reason is needed to save); "missing": an input a check
    needs is absent or too old, so that check could not be made (said, never skipped)."""

    message: str
    source: str
    kind: str = "dose"
    input: str = ""  # the missing input: weight_kg, egfr

    @property
    def blocking(self) -> bool:
        return self.kind != "missing"

    def as_dict(self) -> dict:
        out = {"message": self.message, "source": self.source, "kind": self.kind}
        if self.input:
            out["input"] = self.input
        out["decision"] = team_decides()
        return out


# The values a missing input could take, one per band of the tables, with the band's words.
EGFR_CASES = ((Decimal(121), "eGFR > 120"), (Decimal(120), "eGFR ≤ 120"))
BARICITINIB_WEIGHT_CASES = (
    (Decimal(19), "< 20 kg"),
    (Decimal(30), "20–40 kg"),
    (Decimal(41), "> 40 kg"),
)
TOFACITINIB_WEIGHT_CASES = (
    (Decimal(5), "5–<7 kg"),
    (Decimal(7), "7–<10 kg"),
    (Decimal(10), "10–<20 kg"),
    (Decimal(20), "20–<40 kg"),
    (Decimal(40), "≥ 40 kg"),
)
SEVERE_RENAL_IMPAIRMENT = Decimal(30)  # eGFR below: read as the adults' creatinine clearance
SEVERE_RENAL_FAILURE = Decimal(10)  # §6.2b ii (EMC adults: creatinine clearance < 10 mL/min)
TOFACITINIB_FROM_AGE = 2  # §5.3: NICE and BNFC, from 2 years


def table_inputs(drug: str, indication: str) -> tuple[str, ...]:
    """The inputs the dose table itself is read with (weight, eGFR); age is always known."""
    if drug == "baricitinib" and indication == "interferonopathy":
        return ("weight_kg", "egfr")
    if drug == "tofacitinib" and indication == "jia":
        return ("weight_kg",)
    return ()


def checked_inputs(drug: str, indication: str) -> tuple[str, ...]:
    """Every input some check of a prescription of DRUG needs: the table's, the renal limits
    (§6.1, §6.2b, §5.2b), the CHOP mg/kg/day limit (baricitinib)."""
    if drug in ("baricitinib", "tofacitinib"):
        return ("weight_kg", "egfr")
    return ()


def dose_alternatives(
    drug: str, indication: str, weight_kg=None, age_years=None, egfr=None
) -> list[tuple[str, DoseGuidance]]:
    """The guidance for one child: [("", guidance)] when the table's inputs are known, else one
    (band, guidance) per value the missing weight or eGFR could take (never a silent guess)."""
    needed = table_inputs(drug, indication)
    weight_cases = ((weight_kg, ""),)
    egfr_cases = ((egfr, ""),)
    if "weight_kg" in needed and weight_kg in (None, ""):
        weight_cases = (
            TOFACITINIB_WEIGHT_CASES if drug == "tofacitinib" else BARICITINIB_WEIGHT_CASES
        )
    if "egfr" in needed and egfr in (None, ""):
        egfr_cases = EGFR_CASES
    out = []
    for weight, weight_label in weight_cases:
        for value, egfr_label in egfr_cases:
            label = ", ".join(x for x in (weight_label, egfr_label) if x)
            out.append((label, dose_guidance(drug, indication, weight, age_years, value)))
    return out


def high_dose_from(weight_kg=None, egfr=None) -> Decimal:
    """The lowest baricitinib mg/day that is a high dose for this child: the escalation
    table's dose for the weight and eGFR (§6.3, appendix 2; "high dose … as per the dose
    escalation section", §6.7, §6.8). A missing input takes the band with the lowest, so that
    BK/JC monitoring is never missed for want of a weight or an eGFR."""
    alternatives = dose_alternatives("baricitinib", "interferonopathy", weight_kg, None, egfr)
    return min(g.escalation.total for _label, g in alternatives)


def guidance_notes(drug: str, weight_kg=None, age_years=None, egfr=None) -> list[Caution]:
    """The renal and age limits of the guideline for this child, shown with the dose guidance
    and raised on a prescription."""
    notes = []
    egfr_value = _positive(egfr, "egfr", upper=400)
    age = _positive(age_years, "age_years", upper=25, allow_zero=True)
    if drug == "baricitinib" and egfr_value is not None:
        if egfr_value < SEVERE_RENAL_FAILURE:
            notes.append(
                Caution(
                    _(
                        "eGFR below 10 (severe renal failure): baricitinib is not recommended "
                        "(adult guidance: creatinine clearance below 10 mL/min). Weigh the risks "
                        "and benefits in a specialist MDT discussion."
                    ),
                    f"{GUIDELINE} §6.2b i–ii (EMC)",
                )
            )
        elif egfr_value < SEVERE_RENAL_IMPAIRMENT:
            notes.append(
                Caution(
                    _(
                        "Baricitinib is not recommended below a creatinine clearance of 30 mL/min "
                        "(adults; below 10 mL/min in severe renal failure). Weigh the risks and "
                        "benefits in a specialist MDT discussion."
                    ),
                    f"{GUIDELINE} §6.1, §6.2b (EMC)",
                )
            )
    if drug == "tofacitinib":
        if age is not None and age < TOFACITINIB_FROM_AGE:
            notes.append(
                Caution(
                    _(
                        "Under 2 years: tofacitinib is approved for children from 2 years (NICE; "
                        "BNFC 2–17 years)."
                    ),
                    f"{GUIDELINE} §5.3",
                )
            )
        if egfr_value is not None and egfr_value < SEVERE_RENAL_IMPAIRMENT:
            notes.append(
                Caution(
                    _(
                        "eGFR below 30 (severe renal impairment): a reduced dose of tofacitinib "
                        "should be used; weigh the risks and benefits in a specialist MDT "
                        "discussion."
                    ),
                    f"{GUIDELINE} §5.2b",
                )
            )
    return notes


def missing_inputs(
    drug: str, indication: str, weight_kg=None, egfr=None, recency: dict | None = None
) -> list[Caution]:
    """The checks of a DRUG prescription that could not be made, one per missing input.
    RECENCY: {input: days} for the wording ("in the last N days")."""
    recency = recency or {}
    out = []

    def when(name: str) -> str:
        if name in recency:
            return _("in the last %(days)d days") % {"days": recency[name]}
        return _("given")

    interferonopathy = drug == "baricitinib" and indication == "interferonopathy"
    if "weight_kg" in checked_inputs(drug, indication) and weight_kg in (None, ""):
        if interferonopathy:
            text, section = (
                _(
                    "No weight %(when)s: the dose could not be checked against the weight bands "
                    "(§6.3, appendix 2) nor against 0.6 mg/kg/day (CHOP)."
                ),
                "§6.3, appendix 2",
            )
        elif drug == "baricitinib":
            text, section = (
                _(
                    "No weight %(when)s: the dose could not be checked against 0.6 mg/kg/day "
                    "(CHOP)."
                ),
                "§6.5–6.6",
            )
        else:
            text, section = (
                _("No weight %(when)s: the dose could not be checked against the weight bands."),
                "§5.3",
            )
        out.append(
            Caution(
                text % {"when": when("weight_kg")}, f"{GUIDELINE} {section}", "missing", "weight_kg"
            )
        )
    if "egfr" in checked_inputs(drug, indication) and egfr in (None, ""):
        if interferonopathy:
            text, section = (
                _(
                    "No eGFR %(when)s: the dose could not be checked against §6.3 / appendix 2 "
                    "(eGFR above or at most 120) nor against the renal limits (§6.1, §6.2b)."
                ),
                "§6.2b iii",
            )
        elif drug == "baricitinib":
            text, section = (
                _(
                    "No eGFR %(when)s: the dose could not be checked against the renal limits "
                    "(§6.1, §6.2b)."
                ),
                "§6.2b iii",
            )
        else:
            text, section = (
                _(
                    "No eGFR %(when)s: severe renal impairment (a reduced dose) could not be "
                    "checked."
                ),
                "§5.2b",
            )
        out.append(
            Caution(text % {"when": when("egfr")}, f"{GUIDELINE} {section}", "missing", "egfr")
        )
    return out


def _bands(alternatives: list[tuple[str, DoseGuidance]]) -> str:
    return "; ".join(f"{number(g.maximum_total)} mg/day ({label})" for label, g in alternatives)


def prescription_warnings(
    drug: str,
    indication: str,
    total_mg: Decimal,
    weight_kg=None,
    age_years=None,
    egfr=None,
    recency: dict | None = None,
    tertiary_recorded: bool = False,
) -> list[Caution]:
    """Why a prescription deserves a second look; the clinician may still save it (with a
    reason when a caution is blocking). Missing inputs are said, with what they leave unchecked;
    when the table cannot be read for a missing weight or eGFR, the dose is checked against
    every band that input could be in: above all of them it is above the maximum, above some
    of them it may be."""
    warnings = []
    try:
        alternatives = dose_alternatives(drug, indication, weight_kg, age_years, egfr)
    except GuidelineInputError as error:
        alternatives = []
        if drug in ("baricitinib", "tofacitinib") and error.parameter not in ("weight_kg", "egfr"):
            warnings.append(
                Caution(
                    _("The guideline gives no dose for this child: %(why)s")
                    % {"why": error.message},
                    f"{GUIDELINE} §5.3, §6.3–6.6",
                )
            )
        elif drug == "tofacitinib" and error.parameter == "weight_kg":
            warnings.append(Caution(error.message, f"{GUIDELINE} §5.3"))
    if len(alternatives) == 1:
        guidance = alternatives[0][1]
        if total_mg > guidance.maximum_total:
            warnings.append(
                Caution(
                    _(
                        "%(total)s mg/day is above the guideline's maximum of %(max)s mg/day for "
                        "this child."
                    )
                    % {"total": number(total_mg), "max": number(guidance.maximum_total)},
                    guidance.source,
                )
            )
        elif (
            guidance.maximum_total == BARICITINIB_TERTIARY_MAXIMUM
            and total_mg > guidance.escalation.total
            and not tertiary_recorded
        ):
            warnings.append(
                Caution(
                    _(
                        "%(total)s mg/day is above the escalation dose of %(esc)s mg/day: up to "
                        "12 mg/day only after discussion with the tertiary team. Record with "
                        "whom and when."
                    )
                    % {"total": number(total_mg), "esc": number(guidance.escalation.total)},
                    guidance.source,
                )
            )
    elif alternatives:
        maxima = [g.maximum_total for _label, g in alternatives]
        source = f"{GUIDELINE} " + ("§5.3" if drug == "tofacitinib" else "§6.3, appendix 2")
        if total_mg > max(maxima):
            warnings.append(
                Caution(
                    _(
                        "%(total)s mg/day is above the guideline's maximum whatever the missing "
                        "value: %(bands)s."
                    )
                    % {"total": number(total_mg), "bands": _bands(alternatives)},
                    source,
                )
            )
        elif total_mg > min(maxima):
            over = [(label, g) for label, g in alternatives if total_mg > g.maximum_total]
            warnings.append(
                Caution(
                    _(
                        "%(total)s mg/day may be above the guideline's maximum, depending on the "
                        "missing value: %(bands)s. Record it to check the dose."
                    )
                    % {"total": number(total_mg), "bands": _bands(over)},
                    source,
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
    with suppress(GuidelineInputError):  # an impossible value has its own message above
        warnings += guidance_notes(drug, weight_kg, age_years, egfr)
    warnings += missing_inputs(drug, indication, weight_kg, egfr, recency)
    return warnings


# §6.3 "Dose escalation if baseline bloods are normal": the full blood count must be there; it
# and any liver or renal result there is are judged on §6.7's and §6.1's limits.
BASELINE_BLOODS = ("hb", "wcc", "neutrophils", "lymphocytes", "platelets")


def escalation_cautions(baseline: list, names: dict[str, str]) -> list[Caution]:
    """Cautions on a baricitinib escalation from the BASELINE bloods (thresholds.Result, the
    latest of each test on or before the first dose, eGFR as "egfr"); NAMES: analyte → words."""
    from outcomes import thresholds

    have = {r.analyte for r in baseline}
    out = []
    absent = [a for a in BASELINE_BLOODS if a not in have]
    if absent:
        out.append(
            Caution(
                _(
                    "Escalation without baseline bloods (%(names)s): the guideline escalates "
                    "only if baseline bloods are normal."
                )
                % {"names": ", ".join(names.get(a, a) for a in absent)},
                f"{GUIDELINE} §6.3",
            )
        )
    same_day = {
        r.sample_date: [x for x in baseline if x.sample_date == r.sample_date] for r in baseline
    }
    abnormal = [
        f
        for r in baseline
        for f in thresholds.baricitinib_flags(r, same_day[r.sample_date], treated=False)
    ]
    if abnormal:
        out.append(
            Caution(
                _(
                    "Escalation with abnormal baseline bloods (%(what)s): the guideline escalates "
                    "only if baseline bloods are normal."
                )
                % {"what": "; ".join(f.message.rstrip(".") for f in abnormal)},
                f"{GUIDELINE} §6.3",
            )
        )
    return out


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
