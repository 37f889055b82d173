"""The identifiable tables: one definition of every file and column, read by the export, the
import and the data dictionary.

Rows are keyed by the site's own child reference (`child_ref`) and natural keys (date, slot,
analyte…), never by internal ids, so that a file written by one installation can be imported
by another.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

from django.conf import settings
from django.db.models import QuerySet
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from diary import assessments, instruments
from diary.doses import (
    HEIGHT_CM,
    SEIZURE_COUNT,
    SEIZURE_MINUTES,
    TEMPERATURE_C,
    WEIGHT_KG,
    Drug,
    Slot,
    Steroid,
)
from diary.growth import GrowthReference
from diary.models import (
    Diagnosis,
    DiaryEntry,
    DoseAdministration,
    DoseStatus,
    GrowthMeasurement,
    Indication,
    Medicine,
    MedicineKind,
    Prescription,
    PrescriptionReason,
    Sex,
    SteroidDose,
    SteroidPrescription,
    User,
    VisitAssessment,
)
from outcomes.models import UNITS, Analyte, LabResult


class Use(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    COMPUTED = "computed"  # written by the export, computed again on import
    PROVENANCE = "provenance"  # who and when: written by the export, set by the import


class Type(StrEnum):
    TEXT = "text"
    DATE = "date"
    DATETIME = "datetime"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"


YES_NO = (("1", _("yes")), ("0", _("no")))


@dataclass(frozen=True)
class Column:
    name: str
    meaning: str
    type: Type = Type.TEXT
    use: Use = Use.OPTIONAL
    unit: str = ""
    choices: tuple = ()  # (value, label) pairs
    allowed: str = ""  # allowed values that are not a list of choices

    @property
    def imported(self) -> bool:
        return self.use in (Use.REQUIRED, Use.OPTIONAL)

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(str(value) for value, _label in self.choices)

    def allowed_values(self) -> str:
        """REDCap's choice notation: `value, label | value, label`."""
        if self.type == Type.BOOLEAN:
            return " | ".join(f"{value}, {label}" for value, label in YES_NO)
        if self.choices:
            return " | ".join(f"{value}, {label}" for value, label in self.choices)
        if self.type == Type.DATE:
            return str(_("YYYY-MM-DD"))
        if self.type == Type.DATETIME:
            return str(_("ISO 8601 date and time with UTC offset"))
        return str(self.allowed)


@dataclass(frozen=True)
class Table:
    name: str
    meaning: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # the natural key: two rows with the same values are duplicates
    rows: Callable[[QuerySet, "Names"], Iterator[dict]]  # what the export writes

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)


# --- Columns shared by several tables ----------------------------------------------------------

CHILD_REF = Column(
    "child_ref",
    _("The site's own reference for the child (e.g. hospital number), unique within the site."),
    use=Use.REQUIRED,
)


def _date(name: str, meaning, use=Use.REQUIRED) -> Column:
    return Column(name, meaning, Type.DATE, use)


def _between(bounds: tuple[Decimal, Decimal]) -> str:
    """The plausible range that the diary's own validation enforces (diary.doses)."""
    return f"{bounds[0]}–{bounds[1]}"


DAY = _date("date", _("The day, on the family's calendar."))
START = _date("start_date", _("First day of the prescription; it runs until the next one."))
REPORTED_BY = Column("reported_by", _("Who recorded the row (name)."), use=Use.PROVENANCE)
PRESCRIBED_BY = Column(
    "prescribed_by", _("Who entered the prescription (name)."), use=Use.PROVENANCE
)
RECORDED_AT = Column(
    "recorded_at", _("When the row was first stored."), Type.DATETIME, Use.PROVENANCE
)
NOTE = Column("note", _("Free-text note."))
JAK_DRUG = Column("drug", _("JAK inhibitor."), use=Use.REQUIRED, choices=tuple(Drug.choices))
STEROID_DRUG = Column("drug", _("Steroid."), use=Use.REQUIRED, choices=tuple(Steroid.choices))
ITEM_PREFIX = "item_"


def _item_columns() -> tuple[Column, ...]:
    """One column per diary item of every instrument; an item shared by several (fever) keeps
    one column, its range given per instrument."""
    items: dict[str, list] = {}
    for instrument in instruments.CURRENT.values():
        for item in instrument.items:
            items.setdefault(item.key, []).append((instrument, item))
    return tuple(
        Column(
            ITEM_PREFIX + key,
            format_lazy("{}: {}", _("Item score"), found[0][1].label),
            Type.INTEGER,
            allowed="; ".join(f"{i.key} {item.min}–{item.max}" for i, item in found),
        )
        for key, found in items.items()
    )


ITEM_COLUMNS = _item_columns()


# --- Values as written: the export's and the import's common notation -------------------------


def plain(number: Decimal) -> str:
    """A decimal without trailing zeros or an exponent: 2.00 → 2, 1E+2 → 100."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, float):
        return format(value, ".10g")
    return str(value)


# --- What the export reads ----------------------------------------------------------------------


class Names:
    """Child references and people's names by id, each looked up once per export."""

    def __init__(self, children: QuerySet):
        self.refs = dict(children.values_list("pk", "reference"))
        self._users: dict[int, str] = {}

    def user(self, user_id: int | None) -> str:
        if user_id is None:
            return ""
        if user_id not in self._users:
            found = User.objects.filter(pk=user_id).first()
            self._users[user_id] = found.display_name if found else ""
        return self._users[user_id]


def _of(model, children, *order):
    return (
        model.objects.filter(child__in=children)
        .order_by("child__reference", "child_id", *order)
        .iterator(chunk_size=2000)
    )


def _children_rows(children, names):
    for child in children.order_by("reference", "pk").iterator(chunk_size=500):
        yield {
            "child_ref": child.reference,
            **{name: getattr(child, name) for name in CHILD_FIELDS},
            "country": child.country.code,
            "registered_at": child.created,
        }


def _diary_rows(children, names):
    for entry in _of(DiaryEntry, children, "date"):
        yield {
            "child_ref": names.refs[entry.child_id],
            "date": entry.date,
            "instrument": entry.instrument_key,
            "instrument_version": entry.instrument_version,
            "no_symptoms": entry.no_symptoms,
            **{ITEM_PREFIX + key: score for key, score in entry.scores.items()},
            "max_temperature": entry.max_temperature,
            "illness": entry.illness,
            "zoster": entry.zoster,
            "seizure_count": entry.seizure_count,
            "seizure_longest_min": entry.seizure_longest_min,
            "seizure_rescue": entry.seizure_rescue,
            "note": entry.note,
            "daily_score": entry.score,
            "skin_subscore": entry.subscores.get("skin"),
            "answered": entry.answered,
            "fever": entry.fever,
            "reported_by": names.user(entry.reported_by_id),
            "recorded_at": entry.created,
        }


def _dose_rows(children, names):
    for dose in _of(DoseAdministration, children, "date", "drug", "slot"):
        yield {
            "child_ref": names.refs[dose.child_id],
            "date": dose.date,
            "drug": dose.drug,
            "slot": dose.slot,
            "status": dose.status,
            "given_mg": dose.given_mg,
            "prescribed_mg": dose.prescribed_mg,
            "reported_by": names.user(dose.reported_by_id),
            "recorded_at": dose.created,
        }


def _steroid_rows(children, names):
    previous, number = None, 0
    for dose in _of(SteroidDose, children, "date", "drug", "created", "id"):
        key = (dose.child_id, dose.date, dose.drug)
        number = number + 1 if key == previous else 1
        previous = key
        yield {
            "child_ref": names.refs[dose.child_id],
            "date": dose.date,
            "drug": dose.drug,
            "dose_number": number,
            "mg": dose.mg,
            "reported_by": names.user(dose.reported_by_id),
            "recorded_at": dose.created,
        }


def _growth_rows(children, names):
    for row in _of(GrowthMeasurement, children, "date"):
        yield {
            "child_ref": names.refs[row.child_id],
            "date": row.date,
            "weight_kg": row.weight_kg,
            "height_cm": row.height_cm,
            "sds_confirmed": row.sds_confirmed,
            **{name: getattr(row, name) for name in GROWTH_COMPUTED},
            "reported_by": names.user(row.reported_by_id),
            "recorded_at": row.created,
        }


def _prescription_rows(children, names):
    for rx in _of(Prescription, children, "start_date"):
        yield {
            "child_ref": names.refs[rx.child_id],
            **{name: getattr(rx, name) for name in PRESCRIPTION_FIELDS},
            "total_mg": rx.total_mg,
            "prescribed_by": names.user(rx.created_by_id),
            "recorded_at": rx.created,
        }


def _steroid_prescription_rows(children, names):
    for rx in _of(SteroidPrescription, children, "start_date"):
        yield {
            "child_ref": names.refs[rx.child_id],
            **{name: getattr(rx, name) for name in STEROID_PRESCRIPTION_FIELDS},
            "prescribed_by": names.user(rx.created_by_id),
            "recorded_at": rx.created,
        }


def entered_uln(result: LabResult) -> Decimal | None:
    """The stored (canonical) upper limit of normal in the unit the value was entered in."""
    if result.uln is None:
        return None
    factor = UNITS[result.analyte][1].get(result.entered_unit, Decimal(1))
    if factor is None:  # a viral load entered in copies/mL is stored as log10
        return (Decimal(10) ** result.uln).quantize(Decimal("0.001"))
    return (result.uln / factor).quantize(Decimal("0.000001"))


def _lab_rows(children, names):
    for result in _of(LabResult, children, "sample_date", "analyte", "pk"):
        yield {
            "child_ref": names.refs[result.child_id],
            "sample_date": result.sample_date,
            "analyte": result.analyte,
            "value": result.entered_value,
            "unit": result.entered_unit,
            "uln": entered_uln(result),
            "assay": result.assay,
            "positivity_threshold": result.positivity_threshold,
            "canonical_value": result.value,
            "canonical_unit": result.unit,
            "egfr": result.egfr,
            "entered_by": names.user(result.entered_by_id),
            "caregiver_entered": result.caregiver_entered,
            "recorded_at": result.created,
        }


# --- The tables ---------------------------------------------------------------------------------

MG = _("mg")

CHILDREN = Table(
    "children",
    _("One row per child: who the child is, the diary used, treatment markers and consent."),
    (
        CHILD_REF,
        Column("first_name", _("First name."), use=Use.REQUIRED),
        Column("last_name", _("Last name."), use=Use.REQUIRED),
        _date("date_of_birth", _("Date of birth.")),
        Column("sex", _("Sex."), use=Use.REQUIRED, choices=tuple(Sex.choices)),
        Column("diagnosis", _("Diagnosis."), use=Use.REQUIRED, choices=tuple(Diagnosis.choices)),
        Column("genotype", _("Gene and variant(s), starting with the gene of the diagnosis.")),
        Column(
            "country",
            _("Country of residence."),
            use=Use.REQUIRED,
            allowed=_("ISO 3166-1 alpha-2 code, e.g. GB, FR"),
        ),
        Column(
            "timezone",
            _("The family's time zone: it decides the diary's days (default Europe/London)."),
            allowed=_("IANA time zone, e.g. Europe/London"),
        ),
        Column(
            "language",
            _("The family's language (default en)."),
            choices=tuple(settings.LANGUAGES),
        ),
        Column(
            "instrument",
            _("The diary used; empty: the diary of the diagnosis."),
            choices=tuple(instruments.CHOICES),
        ),
        _date("optimal_dose_date", _("Optimal dose reached on (empty: derived)."), Use.OPTIONAL),
        _date("final_visit_date", _("Final visit / data cut-off (empty: today)."), Use.OPTIONAL),
        Column("consent_version", _("Version of the research consent form signed.")),
        _date("consent_date", _("Date of the research consent."), Use.OPTIONAL),
        _date("consent_withdrawn_date", _("Date the consent was withdrawn."), Use.OPTIONAL),
        Column("registered_at", _("When the child was registered."), Type.DATETIME, Use.PROVENANCE),
    ),
    key=("child_ref",),
    rows=_children_rows,
)

DIARY = Table(
    "diary",
    _("One row per child and day: the item scores of the child's diary and the daily score."),
    (
        CHILD_REF,
        DAY,
        Column(
            "instrument",
            _("The diary the day was recorded with; checked against the child's diary."),
            choices=tuple(instruments.CHOICES),
        ),
        Column(
            "instrument_version",
            _("Version of the diary; checked against the child's diary."),
            Type.INTEGER,
        ),
        Column("no_symptoms", _("“No symptoms today”: every item scores 0."), Type.BOOLEAN),
        *ITEM_COLUMNS,
        Column(
            "max_temperature",
            _("Highest temperature of the day."),
            Type.DECIMAL,
            unit="°C",
            allowed=_between(TEMPERATURE_C),
        ),
        Column("illness", _("Illness or infection that day."), Type.BOOLEAN),
        Column("zoster", _("Shingles (herpes zoster) that day."), Type.BOOLEAN),
        Column(
            "seizure_count",
            _("Number of seizures that day; only with item_seizures above 0 (empty: not said)."),
            Type.INTEGER,
            allowed=_between(SEIZURE_COUNT),
        ),
        Column(
            "seizure_longest_min",
            _(
                "The longest seizure that day, one decimal at most; only with item_seizures "
                "above 0 (empty: not said)."
            ),
            Type.DECIMAL,
            unit=_("minutes"),
            allowed=_between(SEIZURE_MINUTES),
        ),
        Column(
            "seizure_rescue",
            _(
                "Rescue medicine given for a seizure that day; only with item_seizures above 0 "
                "(empty: not said)."
            ),
            Type.BOOLEAN,
        ),
        NOTE,
        Column(
            "daily_score",
            _(
                "Daily score from the item scores (AGS: sum 0–24; NIH diaries: mean 0–4); "
                "empty when fewer than 75% of items are answered. Checked when given."
            ),
            Type.DECIMAL,
            Use.COMPUTED,
        ),
        Column("skin_subscore", _("AGS skin sub-score (0–6)."), Type.DECIMAL, Use.COMPUTED),
        Column("answered", _("Number of items answered."), Type.INTEGER, Use.COMPUTED),
        Column(
            "fever",
            _("Fever: the fever item above 0 or 38 °C or more."),
            Type.BOOLEAN,
            Use.COMPUTED,
        ),
        REPORTED_BY,
        RECORDED_AT,
    ),
    key=("child_ref", "date"),
    rows=_diary_rows,
)

DOSES = Table(
    "doses",
    _("One row per child, day, drug and time of day: the JAK inhibitor given."),
    (
        CHILD_REF,
        DAY,
        JAK_DRUG,
        Column("slot", _("Time of day."), use=Use.REQUIRED, choices=tuple(Slot.choices)),
        Column("status", _("What was given."), use=Use.REQUIRED, choices=tuple(DoseStatus.choices)),
        Column(
            "given_mg",
            _("Amount given; may be empty when given as prescribed."),
            Type.DECIMAL,
            unit=MG,
        ),
        Column(
            "prescribed_mg",
            _("Dose of the prescription in force for that time of day."),
            Type.DECIMAL,
            Use.COMPUTED,
            unit=MG,
        ),
        REPORTED_BY,
        RECORDED_AT,
    ),
    key=("child_ref", "date", "drug", "slot"),
    rows=_dose_rows,
)

STEROIDS = Table(
    "steroids",
    _("One row per steroid dose given."),
    (
        CHILD_REF,
        DAY,
        STEROID_DRUG,
        Column(
            "dose_number",
            _("1 for the first dose of this steroid that day, 2 for the second… (default 1)."),
            Type.INTEGER,
            allowed="1, 2, 3…",
        ),
        Column("mg", _("Dose given."), Type.DECIMAL, Use.REQUIRED, unit=MG),
        REPORTED_BY,
        RECORDED_AT,
    ),
    key=("child_ref", "date", "drug", "dose_number"),
    rows=_steroid_rows,
)

GROWTH = Table(
    "growth",
    _("One row per child and day measured: weight, height or both."),
    (
        CHILD_REF,
        DAY,
        Column("weight_kg", _("Weight."), Type.DECIMAL, unit="kg", allowed=_between(WEIGHT_KG)),
        Column("height_cm", _("Height."), Type.DECIMAL, unit="cm", allowed=_between(HEIGHT_CM)),
        Column(
            "sds_confirmed",
            _(
                "An SDS beyond ±8 (BMI ±15) was confirmed as measured; on import, 1 confirms "
                "such a value (otherwise refused as a likely typing error)."
            ),
            Type.BOOLEAN,
        ),
        Column(
            "growth_reference",
            _("Growth reference the SDS and centiles were computed against (the site's)."),
            use=Use.COMPUTED,
            choices=tuple(GrowthReference.choices),
        ),
        Column(
            "height_sds", _("Height SDS (Z-score) for age and sex."), Type.DECIMAL, Use.COMPUTED
        ),
        Column(
            "height_centile",
            _("Height centile."),
            Type.DECIMAL,
            Use.COMPUTED,
            unit="%",
            allowed="0–100",
        ),
        Column(
            "weight_sds", _("Weight SDS (Z-score) for age and sex."), Type.DECIMAL, Use.COMPUTED
        ),
        Column(
            "weight_centile",
            _("Weight centile."),
            Type.DECIMAL,
            Use.COMPUTED,
            unit="%",
            allowed="0–100",
        ),
        Column(
            "bmi",
            _("Body mass index, when weight and height were measured the same day."),
            Type.DECIMAL,
            Use.COMPUTED,
            unit="kg/m²",
        ),
        Column("bmi_sds", _("BMI SDS (Z-score) for age and sex."), Type.DECIMAL, Use.COMPUTED),
        Column(
            "bmi_centile", _("BMI centile."), Type.DECIMAL, Use.COMPUTED, unit="%", allowed="0–100"
        ),
        REPORTED_BY,
        RECORDED_AT,
    ),
    key=("child_ref", "date"),
    rows=_growth_rows,
)
GROWTH_COMPUTED = tuple(c.name for c in GROWTH.columns if c.use == Use.COMPUTED)

PRESCRIPTIONS = Table(
    "prescriptions",
    _("JAK-inhibitor prescriptions: each runs from its start date until the next one."),
    (
        CHILD_REF,
        START,
        JAK_DRUG,
        Column(
            "indication",
            _("Indication (default interferonopathy)."),
            choices=tuple(Indication.choices),
        ),
        Column("morning_mg", _("Morning dose (default 0)."), Type.DECIMAL, unit=MG),
        Column("afternoon_mg", _("Afternoon dose (default 0)."), Type.DECIMAL, unit=MG),
        Column("evening_mg", _("Evening dose (default 0)."), Type.DECIMAL, unit=MG),
        Column(
            "reason",
            _("Why the prescription changed."),
            use=Use.REQUIRED,
            choices=tuple(PrescriptionReason.choices),
        ),
        NOTE,
        Column("override_reason", _("Reason for going beyond the guideline.")),
        Column(
            "tertiary_discussed_with",
            _("Above 10 mg/day of baricitinib over 40 kg: the tertiary team member consulted."),
        ),
        _date(
            "tertiary_discussed_on",
            _("Above 10 mg/day of baricitinib over 40 kg: the date of that discussion."),
            use=Use.OPTIONAL,
        ),
        Column("total_mg", _("Daily dose."), Type.DECIMAL, Use.COMPUTED, unit=_("mg/day")),
        PRESCRIBED_BY,
        RECORDED_AT,
    ),
    key=("child_ref", "start_date"),
    rows=_prescription_rows,
)

STEROID_PRESCRIPTIONS = Table(
    "steroid_prescriptions",
    _("Steroid prescriptions: each runs from its start date until the next one (0: stopped)."),
    (
        CHILD_REF,
        START,
        STEROID_DRUG,
        Column("mg_per_day", _("Daily dose."), Type.DECIMAL, Use.REQUIRED, unit=_("mg/day")),
        NOTE,
        PRESCRIBED_BY,
        RECORDED_AT,
    ),
    key=("child_ref", "start_date"),
    rows=_steroid_prescription_rows,
)


def _units_allowed() -> str:
    return "; ".join(
        f"{analyte}: {', '.join(u for u in accepted if u not in ('umol/L', 'cells/uL'))}"
        for analyte, (_canonical, accepted) in UNITS.items()
    )


LABS = Table(
    "labs",
    _("One row per blood or urine test result."),
    (
        CHILD_REF,
        _date("sample_date", _("Day the sample was taken.")),
        Column("analyte", _("The test."), use=Use.REQUIRED, choices=tuple(Analyte.choices)),
        Column(
            "value", _("The result, as reported by the laboratory."), Type.DECIMAL, Use.REQUIRED
        ),
        Column(
            "unit",
            _("Unit of value and uln; may be empty for tests with one unit."),
            allowed=_units_allowed(),
        ),
        Column("uln", _("The laboratory's upper limit of normal, in the same unit."), Type.DECIMAL),
        Column("assay", _("Assay (interferon score).")),
        Column(
            "positivity_threshold",
            _("The assay's positivity threshold (interferon score)."),
            Type.DECIMAL,
        ),
        Column(
            "canonical_value",
            _("The result converted to the canonical unit (viral loads as log10)."),
            Type.DECIMAL,
            Use.COMPUTED,
        ),
        Column("canonical_unit", _("The canonical unit."), use=Use.COMPUTED),
        Column(
            "egfr",
            _("eGFR from a creatinine and the height on or before the sample date."),
            Type.DECIMAL,
            Use.COMPUTED,
            unit="mL/min/1.73m²",
        ),
        Column("entered_by", _("Who entered the result (name)."), use=Use.PROVENANCE),
        Column(
            "caregiver_entered",
            _("Entered by a caregiver rather than the clinical team."),
            Type.BOOLEAN,
            Use.PROVENANCE,
        ),
        RECORDED_AT,
    ),
    key=("child_ref", "sample_date", "analyte", "assay", "value", "unit"),
    rows=_lab_rows,
)


def _medicine_rows(children, names):
    for medicine in _of(Medicine, children, "start_date", "name"):
        yield {
            "child_ref": names.refs[medicine.child_id],
            **{name: getattr(medicine, name) for name in MEDICINE_FIELDS},
            "entered_by": names.user(medicine.entered_by_id),
            "recorded_at": medicine.created,
        }


MEDICINES = Table(
    "medicines",
    _("Other medicines the child takes besides the JAK inhibitor and steroids (SPARN §8)."),
    (
        CHILD_REF,
        Column("name", _("The medicine's name."), use=Use.REQUIRED),
        Column(
            "kind",
            _("What the guideline cautions about (default other)."),
            choices=tuple(MedicineKind.choices),
        ),
        Column("dose", _("Dose, as prescribed (free text).")),
        START,
        _date("stop_date", _("Last day taken; empty while still taken."), use=Use.OPTIONAL),
        NOTE,
        Column("entered_by", _("Who entered the medicine (name)."), use=Use.PROVENANCE),
        RECORDED_AT,
    ),
    key=("child_ref", "name", "start_date"),
    rows=_medicine_rows,
)

AGS_PREFIX = "ags_"


def _assessment_rows(children, names):
    for a in _of(VisitAssessment, children, "date"):
        yield {
            "child_ref": names.refs[a.child_id],
            "date": a.date,
            **{AGS_PREFIX + key: value for key, value in (a.ags_items or {}).items()},
            "physician_global": a.physician_global,
            "parent_global": a.parent_global,
            "note": a.note,
            "ags_scale": a.ags_scale,
            "severity_band": a.severity_band,
            "recorded_by": names.user(a.recorded_by_id),
            "recorded_at": a.created,
        }


VAS_MEANING = _("visual-analogue scale, 0–100 mm, 100 = worst (NIH, Sanchez 2018, Figure 2)")
ASSESSMENTS = Table(
    "assessments",
    _("One row per visit assessment: the AGS Scale and the global assessments (DOMAIN §3)."),
    (
        CHILD_REF,
        _date("date", _("Day of the visit.")),
        *(
            Column(
                AGS_PREFIX + item.key,
                format_lazy("{}: {}", _("AGS Scale item"), item.label),
                Type.INTEGER,
                allowed=_("0 not achieved, 1 achieved; all 11 items or none"),
            )
            for item in assessments.AGS_SCALE_ITEMS
        ),
        Column(
            "physician_global",
            format_lazy("{}, {}", _("Physician's global assessment"), VAS_MEANING),
            Type.DECIMAL,
            unit="mm",
            allowed="0–100",
        ),
        Column(
            "parent_global",
            format_lazy("{}, {}", _("Parent's global assessment"), VAS_MEANING),
            Type.DECIMAL,
            unit="mm",
            allowed="0–100",
        ),
        NOTE,
        Column(
            "ags_scale",
            _("AGS Scale: the sum of the 11 items (Adang et al. 2020)."),
            Type.INTEGER,
            Use.COMPUTED,
            allowed="0–11",
        ),
        Column(
            "severity_band",
            _("AGS Scale severity band (AGS_SCALE_BANDS; unconfirmed defaults)."),
            use=Use.COMPUTED,
            choices=tuple(assessments.BAND_LABELS.items()),
        ),
        Column("recorded_by", _("Who recorded the assessment (name)."), use=Use.PROVENANCE),
        RECORDED_AT,
    ),
    key=("child_ref", "date"),
    rows=_assessment_rows,
)

# In the order of import: what a row refers to (a child, a prescription in force, the height
# for an eGFR) is stored before the row.
TABLES: tuple[Table, ...] = (
    CHILDREN,
    PRESCRIPTIONS,
    STEROID_PRESCRIPTIONS,
    GROWTH,
    DIARY,
    DOSES,
    STEROIDS,
    LABS,
    MEDICINES,
    ASSESSMENTS,
)
BY_FILENAME = {table.filename: table for table in TABLES}


def _model_fields(table: Table) -> tuple[str, ...]:
    """The imported columns that are fields of the table's model, named alike."""
    return tuple(c.name for c in table.columns if c.imported and c is not CHILD_REF)


CHILD_FIELDS = _model_fields(CHILDREN)
PRESCRIPTION_FIELDS = _model_fields(PRESCRIPTIONS)
STEROID_PRESCRIPTION_FIELDS = _model_fields(STEROID_PRESCRIPTIONS)
MEDICINE_FIELDS = _model_fields(MEDICINES)
DICTIONARY_FILENAME = "data_dictionary.csv"
MANIFEST_FILENAME = "manifest.json"
DICTIONARY_HEADER = (
    "file",
    "column",
    "meaning",
    "type",
    "unit",
    "allowed_values",
    "on_import",
)


def dictionary_rows() -> Iterator[tuple[str, ...]]:
    """The data dictionary, REDCap-style: every column of every file, in the active language."""
    on_import = {
        Use.REQUIRED: _("required"),
        Use.OPTIONAL: _("optional"),
        Use.COMPUTED: _("computed (ignored on import unless said otherwise)"),
        Use.PROVENANCE: _("ignored: the importing user and time are recorded"),
    }
    for table in TABLES:
        for column in table.columns:
            yield (
                table.filename,
                column.name,
                str(column.meaning),
                column.type.value,
                str(column.unit),
                column.allowed_values(),
                str(on_import[column.use]),
            )
