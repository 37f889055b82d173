"""The anonymised research export (DOMAIN §9): a zip of CSV files, a data dictionary and a
manifest, written row by row so memory stays bounded whatever the size.

Only children with research consent on record and not withdrawn; only the columns listed in
DICTIONARY (no names, emails, addresses, references, internal ids or free text unless asked for).
The rules themselves are in deidentify.py. Every file's rows are ordered by pseudonym, then day,
so row order says nothing about when or where a child was registered.
"""

import csv
import hashlib
import io
import json
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import BinaryIO

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    DecimalField,
    F,
    IntegerField,
    Min,
    QuerySet,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Round
from django.utils import timezone

from diary import assessments, csvsafe, instruments
from diary.doses import SEIZURE_COUNT, SEIZURE_MINUTES, Drug, Slot, Steroid
from diary.growth import GrowthReference
from diary.models import (
    Child,
    Diagnosis,
    DiaryEntry,
    DoseAdministration,
    DoseStatus,
    GrowthMeasurement,
    Prescription,
    Sex,
    SteroidDose,
    VisitAssessment,
)
from outcomes import deidentify, guideline, summaries
from outcomes.models import UNITS, Analyte, LabResult

FORMAT_VERSION = 1
BATCH = 20  # children whose phase data are in memory at once
CHILDREN_PER_QUERY = 50  # children whose rows of one table are in memory at once
FETCH_ROWS = 10_000
FLUSH_BYTES = 1 << 20  # CSV text buffered before it is compressed into the zip
COMPRESSLEVEL = 1  # CSV still shrinks about sixfold; higher levels cost more than the query

DAY0_FIRST_DOSE = "first_jaki_dose"
DAY0_FIRST_DIARY = "first_diary_day"

# Every item of every diary, in a stable order: one column each in diary.csv.
ITEMS: list[str] = []
for _instrument in instruments.REGISTRY.values():
    for _item in _instrument.items:
        if _item.key not in ITEMS:
            ITEMS.append(_item.key)


@dataclass(frozen=True)
class Options:
    study: str
    sites: tuple[str, ...]
    cutoff: date
    shift_dates: bool = False
    include_free_text: bool = False
    k: int = deidentify.DEFAULT_K
    date_uncertainty_days: int | None = None  # None: settings.EXPORT_DATE_UNCERTAINTY_DAYS

    def __post_init__(self):
        # Any cut-off within a month is that month's freeze: exports a day apart are the same.
        object.__setattr__(self, "cutoff", deidentify.freeze(self.cutoff))
        if self.date_uncertainty_days is None:
            bound = settings.EXPORT_DATE_UNCERTAINTY_DAYS
            object.__setattr__(self, "date_uncertainty_days", bound)

    @property
    def end_span(self) -> int:
        return deidentify.end_span(self.date_uncertainty_days)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["sites"] = list(self.sites)
        data["cutoff"] = self.cutoff.isoformat()
        return data


def consenting(children: QuerySet[Child]) -> QuerySet[Child]:
    """Those of CHILDREN with research consent on record and not withdrawn."""
    consented = children.filter(consent_date__isnull=False, consent_withdrawn_date__isnull=True)
    return consented.exclude(consent_version="")


def eligible_children(site_codes: Iterable[str]) -> QuerySet[Child]:
    """Children of the sites with research consent on record and not withdrawn."""
    return consenting(Child.objects.filter(site__code__in=list(site_codes)))


def diary_rows(site_codes: Iterable[str], cutoff: date) -> int:
    """How many diary days an export would hold (before k-anonymity): decides where it runs."""
    return DiaryEntry.objects.filter(
        child__in=eligible_children(site_codes), date__lte=cutoff
    ).count()


@dataclass
class Subject:
    """One exported child: what replaces its identity and its dates."""

    child: Child
    pseudonym: str
    day0: date
    day0_event: str
    shift: int
    age: int
    end: date  # the last day of the child's exported record (freeze − its keyed offset)
    released: deidentify.Released | None = None


# --- Files ------------------------------------------------------------------------------------


class CsvMember:
    """One CSV file inside the zip, written in blocks; its SHA-256 is taken as it is written.
    It starts with the byte-order mark (spreadsheets then read µmol/L); free text reaches it
    already neutralised against formulas (`csvsafe`), by the query or by the writer."""

    def __init__(self, archive: zipfile.ZipFile, name: str, header: list[str]):
        self.name = name
        self.stream = archive.open(name, "w", force_zip64=True)
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\n")
        self.sha256 = hashlib.sha256()
        self.rows = 0
        self.bytes = 0
        self.buffer.write(csvsafe.BOM)
        self.writer.writerow(header)

    def write_rows(self, rows: list) -> None:
        if any(isinstance(cell, str) and "\r" in cell for row in rows for cell in row):
            for row in rows:
                self.buffer.write(_line(row))
        else:
            self.writer.writerows(rows)
        self.rows += len(rows)
        if self.buffer.tell() >= FLUSH_BYTES:
            self.flush()

    def write_csv_bytes(self, data: bytes, rows: int) -> None:
        """CSV already formatted (by PostgreSQL's COPY), written after what is buffered."""
        if self.buffer.tell():
            self.flush()
        self.sha256.update(data)
        self.stream.write(data)
        self.bytes += len(data)
        self.rows += rows

    def flush(self) -> None:
        data = self.buffer.getvalue().encode()
        self.buffer.seek(0)
        self.buffer.truncate()
        self.sha256.update(data)
        self.stream.write(data)
        self.bytes += len(data)

    def close(self) -> dict:
        self.flush()
        self.stream.close()
        return {"rows": self.rows, "bytes": self.bytes, "sha256": self.sha256.hexdigest()}


def _line(row) -> str:
    """ROW as one CSV line ending in \n, a carriage return in a cell quoted: before Python 3.12
    the csv module quotes only the line terminator's characters, and a spreadsheet would start a
    new row at a bare carriage return."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(row)
    return out.getvalue()[:-2] + "\n"


def _bytes_member(archive: zipfile.ZipFile, name: str, data: bytes) -> dict:
    archive.writestr(name, data)
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


# --- The data dictionary ----------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    type: str  # text, integer, number, date, boolean, categorical
    unit: str = ""
    allowed: str = ""
    note: str = ""


def _choices(choices) -> str:
    return " | ".join(f"{value}={label}" for value, label in choices)


def _when_columns(options: Options, what: str) -> list[Column]:
    if options.shift_dates:
        return [
            Column(
                "date",
                f"Date of the {what}, shifted back by the child's own 0–364 days",
                "date",
                allowed="YYYY-MM-DD",
                note="All of one child's dates move by the same number of days: intervals hold.",
            )
        ]
    return [
        Column(
            "day",
            f"Day of the {what}, counted from day 0 (see children.csv day0_event)",
            "integer",
            "days",
            note="Negative before day 0.",
        )
    ]


def _item_allowed(key: str) -> str:
    ranges = []
    for instrument in instruments.REGISTRY.values():
        for item in instrument.items:
            if item.key == key:
                ranges.append(f"{instrument.key} v{instrument.version}: {item.min}–{item.max}")
    return "; ".join(ranges)


CHILD = Column("child", "Pseudonym of the child (stable within the study)", "text")
# Every column of children.csv but the pseudonym and the shifted day 0 (a date, covered by the
# date bound): k children share all of them.
QUASI_IDENTIFIERS = (
    "age_band",
    "sex",
    "genotype",
    "disease_group",
    "country",
    "region",
    "generalised",
    "instrument",
    "day0_event",
    "treated",
)
SEIZURE_NOTE = (
    "Recorded only on days whose seizures item is above 0 (AGS diary); empty: not said by the "
    "family, or not such a day."
)


def _between(bounds) -> str:
    return f"{bounds[0]}–{bounds[1]}"


def dictionary(options: Options) -> dict[str, list[Column]]:
    """Every file's columns, in order, with meaning, type, unit and allowed values."""
    mode_note = "Shifted date" if options.shift_dates else "Day from day 0"
    children = [
        CHILD,
        Column(
            "age_band",
            "Age band on day 0: five years, ten (e.g. 0-9) or empty when generalised for "
            "k-anonymity",
            "categorical",
            note="Ages of 90 and over are one band, 90+. The exact age is not exported.",
        ),
        Column(
            "sex",
            "Sex; empty when suppressed for k-anonymity",
            "categorical",
            allowed=_choices(Sex.choices),
        ),
        Column(
            "genotype",
            "Diagnosis by gene; empty when generalised for k-anonymity",
            "categorical",
            allowed=_choices(Diagnosis.choices),
        ),
        Column(
            "disease_group",
            "Disease group (AGS1–9 → AGS)",
            "categorical",
            allowed="AGS | CANDLE | SAVI | OTHER",
        ),
        Column(
            "country",
            "Country, ISO 3166-1 alpha-2; empty when generalised for k-anonymity",
            "categorical",
        ),
        Column(
            "region",
            "Continental region of the country (UN M49)",
            "categorical",
            allowed=" | ".join(deidentify.REGIONS),
        ),
        Column(
            "generalised",
            "Which values were suppressed or generalised so that at least k children share "
            "every value of their row",
            "categorical",
            allowed=" | ".join(deidentify.LEVELS),
        ),
        Column(
            "instrument",
            "The child's diary",
            "categorical",
            allowed=" | ".join(instruments.CURRENT),
        ),
        Column(
            "day0_event",
            "What day 0 is: the first JAK-inhibitor dose, or for an untreated child the first "
            "diary day",
            "categorical",
            allowed=f"{DAY0_FIRST_DOSE} | {DAY0_FIRST_DIARY}",
        ),
    ]
    if options.shift_dates:
        children.append(Column("day0_date", "Date of day 0, shifted", "date"))
    children.append(
        Column(
            "treated",
            "A JAK inhibitor was given by the end of the child's record",
            "boolean",
            allowed="0 | 1",
        )
    )
    diary = [
        CHILD,
        *_when_columns(options, "diary entry"),
        Column("instrument", "Diary used that day", "categorical"),
        Column("instrument_version", "Version of the diary", "integer"),
        *(
            Column(
                f"item_{key}",
                f"Score of the item '{key}' (empty: not answered or not in this diary)",
                "integer",
                "points",
                _item_allowed(key),
            )
            for key in ITEMS
        ),
        Column(
            "score",
            "Daily score (AGS: sum 0–24; NIH diaries: mean 0–4); empty when fewer than 75% of "
            "items were answered",
            "number",
            "points",
        ),
        Column("skin_subscore", "AGS skin sub-score (0–6)", "number", "points"),
        Column("answered", "Items answered", "integer"),
        Column("no_symptoms", "'No symptoms today' was tapped", "boolean", allowed="0 | 1"),
        Column("fever", "Fever that day", "boolean", allowed="0 | 1"),
        Column("max_temperature", "Highest temperature", "number", "°C", "34–43"),
        Column("illness", "Illness or infection that day", "boolean", allowed="0 | 1"),
        Column("zoster", "Shingles (herpes zoster) that day", "boolean", allowed="0 | 1"),
        Column(
            "seizure_count",
            "Number of seizures that day",
            "integer",
            "seizures",
            _between(SEIZURE_COUNT),
            SEIZURE_NOTE,
        ),
        Column(
            "seizure_longest_min",
            "Longest seizure that day",
            "number",
            "minutes",
            _between(SEIZURE_MINUTES),
            SEIZURE_NOTE,
        ),
        Column(
            "seizure_rescue",
            "Rescue medicine given for a seizure that day",
            "boolean",
            allowed="0 | 1",
            note=SEIZURE_NOTE,
        ),
    ]
    if options.include_free_text:
        diary.append(
            Column("note", "The family's free-text note (included on request, logged)", "text")
        )
    doses = [
        CHILD,
        *_when_columns(options, "dose"),
        Column("slot", "Time of day", "categorical", allowed=_choices(Slot.choices)),
        Column("drug", "JAK inhibitor", "categorical", allowed=_choices(Drug.choices)),
        Column("prescribed_mg", "Dose prescribed for the slot", "number", "mg"),
        Column("status", "What was given", "categorical", allowed=_choices(DoseStatus.choices)),
        Column("given_mg", "Amount given", "number", "mg"),
    ]
    steroids = [
        CHILD,
        *_when_columns(options, "steroid dose"),
        Column("drug", "Corticosteroid", "categorical", allowed=_choices(Steroid.choices)),
        Column("mg", "Dose given", "number", "mg"),
        Column("prednisone_mg", "Dose as prednisone equivalent", "number", "mg"),
    ]
    references = _choices(GrowthReference.choices)
    growth = [
        CHILD,
        *_when_columns(options, "measurement"),
        Column("weight_kg", "Weight", "number", "kg"),
        Column("height_cm", "Height", "number", "cm"),
        Column(
            "growth_reference",
            "Growth reference the SDS and centiles were computed against (the site's, when "
            "measured; rcpchgrowth)",
            "categorical",
            allowed=references,
        ),
        Column("height_sds", "Height SDS (Z-score) for age and sex", "number", "SDS"),
        Column("height_centile", "Height centile", "number", "%", "0–100"),
        Column("weight_sds", "Weight SDS (Z-score) for age and sex", "number", "SDS"),
        Column("weight_centile", "Weight centile", "number", "%", "0–100"),
        Column("bmi", "Body mass index, weight and height of the same day", "number", "kg/m²"),
        Column("bmi_sds", "BMI SDS (Z-score) for age and sex", "number", "SDS"),
        Column("bmi_centile", "BMI centile", "number", "%", "0–100"),
        Column(
            "sds_confirmed",
            "An SDS beyond ±8 (BMI ±15) was confirmed as measured, not a typing error",
            "boolean",
            allowed="0 | 1",
        ),
    ]
    vas = "Visual-analogue scale, 100 = worst (NIH, Sanchez 2018, Figure 2)"
    visits = [
        CHILD,
        *_when_columns(options, "visit"),
        *(
            Column(
                f"ags_{item.key}",
                f"AGS Scale item: {item.key.replace('_', ' ')} (1 achieved, 0 not)",
                "integer",
                allowed="0 | 1",
            )
            for item in assessments.AGS_SCALE_ITEMS
        ),
        Column(
            "ags_scale",
            "AGS Scale, sum of the 11 items (Adang et al., Mol Genet Metab 2020;130:153); empty: "
            "not assessed",
            "integer",
            "points",
            "0–11",
        ),
        Column(
            "severity_band",
            "AGS Scale severity band (configurable, unconfirmed defaults)",
            "categorical",
            allowed=" | ".join(
                f"{band} {low}–{high}" for band, (low, high) in settings.AGS_SCALE_BANDS.items()
            ),
        ),
        Column(
            "physician_global", f"Physician's global assessment. {vas}", "number", "mm", "0–100"
        ),
        Column("parent_global", f"Parent's global assessment. {vas}", "number", "mm", "0–100"),
    ]
    units = "; ".join(f"{analyte}: {unit}" for analyte, (unit, _accepted) in UNITS.items())
    labs = [
        CHILD,
        *_when_columns(options, "sample"),
        Column("analyte", "Test", "categorical", allowed=_choices(Analyte.choices)),
        Column("value", "Result in the canonical unit", "number", note=units),
        Column("unit", "Canonical unit of the result", "text"),
        Column("uln", "Upper limit of normal given by the lab", "number"),
        Column("reference_low", "Lower reference limit given by the lab", "number"),
        Column("positivity_threshold", "Interferon score: the assay's threshold", "number"),
        Column("egfr", "eGFR computed from a creatinine", "number", "mL/min/1.73m²"),
        Column("egfr_constant", "Constant used for the eGFR (SPARN §6.2b)", "number"),
        Column("caregiver_entered", "Entered by a caregiver", "boolean", allowed="0 | 1"),
        Column(
            "assay_group",
            "Interferon score: which assay, numbered within this export (assays differ and "
            "must never be pooled, DOMAIN §10); empty for other tests",
            "integer",
        ),
    ]
    if options.include_free_text:
        labs.append(Column("assay", "Assay name as typed (free text, on request)", "text"))
    when = "day" if not options.shift_dates else "date"
    phases = [
        CHILD,
        Column(
            "phase", "Treatment phase (NIH, Sanchez 2018)", "categorical", allowed="1 | 2 | 3 | 4"
        ),
        Column(f"start_{when}", f"{mode_note}: first day of the phase", _when_type(options)),
        Column(f"end_{when}", f"{mode_note}: last day of the phase", _when_type(options)),
        Column("days", "Days in the phase", "integer", "days"),
        Column("days_recorded", "Days with a daily score", "integer", "days"),
        Column("completeness_pct", "Days recorded / days in the phase", "number", "%"),
        Column("mean", "Mean daily score", "number", "points"),
        Column("median", "Median daily score", "number", "points"),
        Column("q1", "First quartile of the daily score", "number", "points"),
        Column("q3", "Third quartile of the daily score", "number", "points"),
        Column("skin_mean", "Mean AGS skin sub-score", "number", "points"),
        Column("fever_pct", "Recorded days with fever", "number", "%"),
        Column("steroid_mg_per_kg", "Mean prednisone-equivalent dose", "number", "mg/kg/day"),
        Column("jaki_mg_per_kg", "Mean JAK-inhibitor dose given", "number", "mg/kg/day"),
    ]
    return {
        "children.csv": children,
        "diary.csv": diary,
        "doses.csv": doses,
        "steroids.csv": steroids,
        "growth.csv": growth,
        "labs.csv": labs,
        "assessments.csv": visits,
        "phases.csv": phases,
    }


def _when_type(options: Options) -> str:
    return "date" if options.shift_dates else "integer"


DICTIONARY_HEADER = ["file", "variable", "label", "type", "unit", "allowed_values", "notes"]


def dictionary_csv(options: Options) -> bytes:
    out = io.StringIO()
    out.write(csvsafe.BOM)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DICTIONARY_HEADER)
    for name, columns in dictionary(options).items():
        for c in columns:
            writer.writerow(csvsafe.row([name, c.name, c.label, c.type, c.unit, c.allowed, c.note]))
    return out.getvalue().encode()


# --- Who is exported --------------------------------------------------------------------------


@dataclass
class Cohort:
    subjects: list[Subject]  # released, ordered by pseudonym
    eligible: int
    without_data: int
    suppressed: int
    generalised: dict[str, int] = field(default_factory=dict)


def cohort(options: Options, key: str | bytes) -> Cohort:
    """The consenting children of the sites, pseudonymised, anchored and made k-anonymous."""
    children = list(eligible_children(options.sites).select_related("site"))
    ids = [c.pk for c in children]
    starts = defaultdict(list)
    for child_id, start in (
        Prescription.objects.filter(child_id__in=ids, start_date__lte=options.cutoff)
        .annotate(total=F("morning_mg") + F("afternoon_mg") + F("evening_mg"))
        .filter(total__gt=0)
        .values_list("child_id", "start_date")
    ):
        starts[child_id].append(start)
    first_days = dict(
        DiaryEntry.objects.filter(child_id__in=ids, date__lte=options.cutoff)
        .values("child_id")
        .annotate(first=Min("date"))
        .values_list("child_id", "first")
    )
    subjects, without_data = {}, 0
    for child in children:
        name = deidentify.pseudonym(key, options.study, child.pk)
        end = deidentify.record_end(key, name, options.cutoff, options.end_span)
        doses = [start for start in starts[child.pk] if start <= end]
        first_day = first_days.get(child.pk)
        if doses:
            day0, event = min(doses), DAY0_FIRST_DOSE
        elif first_day is not None and first_day <= end:
            day0, event = first_day, DAY0_FIRST_DIARY
        else:
            without_data += 1
            continue
        subjects[child.pk] = Subject(
            child,
            name,
            day0,
            event,
            deidentify.date_shift(key, name, options.end_span),
            max(0, child.age_in_years(day0)),
            end,
        )
    quasi = {
        pk: deidentify.QuasiIdentifiers(
            deidentify.age_band(s.age),
            s.child.sex,
            s.child.diagnosis,
            str(s.child.country),
            s.child.get_instrument().key,
            s.day0_event == DAY0_FIRST_DOSE,
        )
        for pk, s in subjects.items()
    }
    result = deidentify.k_anonymise(quasi, options.k)
    released = []
    for pk, value in result.released.items():
        subjects[pk].released = value
        released.append(subjects[pk])
    released.sort(key=lambda s: s.pseudonym)
    return Cohort(
        released,
        eligible=len(children),
        without_data=without_data,
        suppressed=len(result.suppressed),
        generalised=result.generalised,
    )


# --- Writing ----------------------------------------------------------------------------------


def _flag(value) -> int:
    return 1 if value else 0


def _as_int(field_name: str) -> Case:
    """A boolean column as 1/0, computed by the database."""
    return Case(When(**{field_name: True}, then=Value(1)), default=Value(0))


def _number(value: float | None, places: int = 4):
    return None if value is None else round(value, places)


def _shift(day: date, subject: Subject) -> str:
    return deidentify.shifted(day, subject.shift).isoformat()


def _when(day: date | None, subject: Subject, options: Options):
    if day is None:
        return None
    if options.shift_dates:
        return _shift(day, subject)
    return deidentify.relative_day(day, subject.day0)


def _stream(query):
    """QUERY's rows as the database returns them, from a server-side cursor on PostgreSQL.
    Django's per-row converters are skipped: the columns are chosen to need none."""
    sql, params = query.query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(FETCH_ROWS):
            yield from rows


def _by_child(query, subjects: list[Subject]):
    """(subject, its rows) in pseudonym order. QUERY yields (child_id, date, ...) rows; one
    query per CHILDREN_PER_QUERY children, so memory holds at most those children's rows."""
    for start in range(0, len(subjects), CHILDREN_PER_QUERY):
        batch = subjects[start : start + CHILDREN_PER_QUERY]
        rows = {s.child.pk: [] for s in batch}
        for row in _stream(query.filter(child_id__in=list(rows))):
            rows[row[0]].append(row)
        for s in batch:
            end = s.end
            yield s, [row for row in rows.pop(s.child.pk) if row[1] <= end]


def _write_rows(member: CsvMember, subjects, options: Options, query) -> None:
    """Rows of (child_id, date, *values) as (pseudonym, day or shifted date, *values)."""
    if connection.vendor == "postgresql":
        _copy_rows(member, subjects, options, query)
        return
    for s, rows in _by_child(query, subjects):
        name = s.pseudonym
        if options.shift_dates:
            shift = timedelta(days=s.shift)
            out = [(name, (r[1] - shift).isoformat(), *r[2:]) for r in rows]
        else:
            day0 = s.day0
            out = [(name, (r[1] - day0).days, *r[2:]) for r in rows]
        member.write_rows(out)


def _copy_rows(member: CsvMember, subjects, options: Options, query) -> None:
    """The same rows, formatted by PostgreSQL's COPY, one child at a time (an index scan in
    the child's own order, no sort): the pseudonym and day 0 (or shift) are parameters of the
    statement, never stored in a table."""
    names = [f"c{i}" for i in range(len(query._fields))]
    rest = ", ".join(f"q.{n}" for n in names[2:])
    if options.shift_dates:
        when = "to_char(q.c1 - %s::integer, 'YYYY-MM-DD')"
    else:
        when = "(q.c1 - %s::date)"
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for s in subjects:
            inner, inner_params = query.filter(child_id=s.child.pk).query.sql_with_params()
            anchor = s.shift if options.shift_dates else s.day0
            # Only column names and placeholders are formatted in; every value is a parameter.
            sql = (
                f"COPY (SELECT %s::text, {when}, {rest} "  # noqa: S608  # nosec B608
                f"FROM ({inner}) AS q({', '.join(names)}) WHERE q.c1 <= %s::date) "
                "TO STDOUT WITH (FORMAT csv)"
            )
            chunks = []
            with raw.copy(sql, [s.pseudonym, anchor, *inner_params, s.end]) as copy:
                for block in copy:
                    chunks.append(bytes(block))
            member.write_csv_bytes(b"".join(chunks), raw.rowcount)


def write_diary(member: CsvMember, subjects: list[Subject], options: Options) -> None:
    items = {f"i_{key}": KT(f"scores__{key}") for key in ITEMS}
    flags = {
        f"{name}_flag": _as_int(name) for name in ("no_symptoms", "fever", "illness", "zoster")
    }
    rescue = Case(
        When(seizure_rescue=True, then=Value(1)),
        When(seizure_rescue=False, then=Value(0)),
        default=Value(None),
        output_field=IntegerField(),
    )
    fields = [
        "child_id",
        "date",
        "instrument_key",
        "instrument_version",
        *items,
        "score",
        "skin_subscore",
        "answered",
        "no_symptoms_flag",
        "fever_flag",
        "max_temperature",
        "illness_flag",
        "zoster_flag",
        "seizure_count",
        "seizure_longest_min",
        "seizure_rescue_flag",
    ]
    if options.include_free_text:
        fields.append("safe_note")
    query = (
        DiaryEntry.objects.annotate(
            skin_subscore=KT("subscores__skin"),
            seizure_rescue_flag=rescue,
            safe_note=csvsafe.neutralised("note"),
            **items,
            **flags,
        )
        .filter(date__lte=options.cutoff)
        .order_by("child_id", "date")
        .values_list(*fields)
    )
    _write_rows(member, subjects, options, query)


def write_doses(member, subjects, options) -> None:
    query = (
        DoseAdministration.objects.filter(date__lte=options.cutoff)
        .order_by("child_id", "date", "slot")
        .values_list("child_id", "date", "slot", "drug", "prescribed_mg", "status", "given_mg")
    )
    _write_rows(member, subjects, options, query)


def write_steroids(member, subjects, options) -> None:
    prednisone = Case(
        *(
            When(drug=drug, then=F("mg") * Value(factor))
            for drug, factor in guideline.PREDNISONE_FACTOR.items()
        ),
        output_field=DecimalField(max_digits=9, decimal_places=2),
    )
    query = (
        SteroidDose.objects.annotate(prednisone=Round(prednisone, 2))
        .filter(date__lte=options.cutoff)
        .order_by("child_id", "date", "drug")
        .values_list("child_id", "date", "drug", "mg", "prednisone")
    )
    _write_rows(member, subjects, options, query)


def write_growth(member, subjects, options) -> None:
    query = (
        GrowthMeasurement.objects.annotate(
            confirmed_flag=_as_int("sds_confirmed"),
            reference=Case(
                When(growth_reference="", then=Value(None)),
                default=F("growth_reference"),
                output_field=CharField(),
            ),
        )
        .filter(date__lte=options.cutoff)
        .order_by("child_id", "date")
        .values_list(
            "child_id",
            "date",
            "weight_kg",
            "height_cm",
            "reference",
            "height_sds",
            "height_centile",
            "weight_sds",
            "weight_centile",
            "bmi",
            "bmi_sds",
            "bmi_centile",
            "confirmed_flag",
        )
    )
    _write_rows(member, subjects, options, query)


def _band() -> Case:
    """The AGS Scale's severity band, computed by the database from AGS_SCALE_BANDS."""
    return Case(
        *(
            When(ags_scale__gte=low, ags_scale__lte=high, then=Value(band))
            for band, (low, high) in settings.AGS_SCALE_BANDS.items()
        ),
        default=Value(None),
        output_field=CharField(),
    )


def write_assessments(member, subjects, options) -> None:
    items = {f"i_{key}": KT(f"ags_items__{key}") for key in assessments.ITEM_KEYS}
    query = (
        VisitAssessment.objects.annotate(band=_band(), **items)
        .filter(date__lte=options.cutoff)
        .order_by("child_id", "date")
        .values_list(
            "child_id", "date", *items, "ags_scale", "band", "physician_global", "parent_global"
        )
    )
    _write_rows(member, subjects, options, query)


def write_labs(member, subjects, options) -> None:
    fields = [
        "child_id",
        "sample_date",
        "analyte",
        "value",
        "unit",
        "uln",
        "reference_low",
        "positivity_threshold",
        "egfr",
        "egfr_constant",
        "caregiver_flag",
    ]
    fields.append("assay_group")
    if options.include_free_text:
        fields.append("safe_assay")
    # Each interferon assay a number, so that scores of different assays are never pooled
    # without giving the assay's name (free text).
    names = sorted(
        set(
            LabResult.objects.filter(
                analyte=Analyte.IFN_SCORE, child_id__in=[s.child.pk for s in subjects]
            ).values_list("assay", flat=True)
        )
    )
    group = Case(
        *(
            When(analyte=Analyte.IFN_SCORE, assay=name, then=Value(number))
            for number, name in enumerate(names, 1)
        ),
        default=Value(None),
        output_field=IntegerField(),
    )
    query = (
        LabResult.objects.annotate(
            caregiver_flag=_as_int("caregiver_entered"),
            safe_assay=csvsafe.neutralised("assay"),
            assay_group=group,
        )
        .filter(sample_date__lte=options.cutoff)
        .order_by("child_id", "sample_date", "analyte", "pk")
        .values_list(*fields)
    )
    _write_rows(member, subjects, options, query)


def write_phases(member, subjects, options) -> None:
    """phases.csv: the per-child, per-phase summary of outcomes/summaries.py, BATCH children at
    a time so memory stays bounded."""
    for start in range(0, len(subjects), BATCH):
        batch = subjects[start : start + BATCH]
        data = summaries.load([s.child for s in batch])
        rows = []
        for s in batch:
            child = s.child
            cutoff = s.end
            if child.final_visit_date and child.final_visit_date < cutoff:
                cutoff = child.final_visit_date
            summary = summaries.summarise(data[child.pk], cutoff)
            for p in summary.summaries:
                rows.append(
                    (
                        s.pseudonym,
                        p.phase,
                        _when(p.start, s, options),
                        _when(p.end, s, options),
                        p.days,
                        p.recorded,
                        _number(p.completeness, 2),
                        _number(p.mean),
                        _number(p.median),
                        _number(p.q1),
                        _number(p.q3),
                        _number(p.skin_mean),
                        _number(p.fever_pct, 2),
                        _number(p.steroid_mg_per_kg),
                        _number(p.jaki_mg_per_kg),
                    )
                )
        member.write_rows(rows)


def write_children(member, subjects, options) -> None:
    rows = []
    for s in subjects:
        r = s.released
        row = [
            s.pseudonym,
            r.age_band,
            r.sex,
            r.genotype,
            r.disease_group,
            r.country,
            r.region,
            r.level,
            r.instrument,
            s.day0_event,
        ]
        if options.shift_dates:
            row.append(_shift(s.day0, s))
        row.append(_flag(r.treated))
        rows.append(csvsafe.row(row))
    member.write_rows(rows)


WRITERS = {
    "children.csv": write_children,
    "diary.csv": write_diary,
    "doses.csv": write_doses,
    "steroids.csv": write_steroids,
    "growth.csv": write_growth,
    "labs.csv": write_labs,
    "assessments.csv": write_assessments,
    "phases.csv": write_phases,
}


def write_export(out: BinaryIO, options: Options, key: str | bytes | None = None) -> dict:
    """Write the export zip to OUT (a binary file) and return its manifest."""
    key = key or settings.PSEUDONYM_KEY
    started = timezone.now()
    group = cohort(options, key)
    columns = dictionary(options)
    files = {}
    with zipfile.ZipFile(
        out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESSLEVEL
    ) as archive:
        for name, writer in WRITERS.items():
            member = CsvMember(archive, name, [c.name for c in columns[name]])
            writer(member, group.subjects, options)
            files[name] = member.close()
        files["data_dictionary.csv"] = _bytes_member(
            archive, "data_dictionary.csv", dictionary_csv(options)
        )
        manifest = _manifest(options, group, files, started)
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest


def _manifest(options: Options, group: Cohort, files: dict, started) -> dict:
    by_site = Counter(s.child.site.code for s in group.subjects)
    by_group = Counter(s.released.disease_group for s in group.subjects)
    exported = len(group.subjects)
    whole = sum(1 for s in group.subjects if s.released.level == deidentify.NOT_GENERALISED)
    # The held-back counts: their total (the eligible children) is hidden whenever one is.
    held = deidentify.publish_counts(
        {
            deidentify.HELD_NO_DATA: group.without_data,
            deidentify.HELD_SMALL_CLASS: group.suppressed,
        },
        total_known=False,
    )
    hidden = deidentify.SUPPRESSED in held.values()
    return {
        "format": "ags-diary anonymised research export",
        "format_version": FORMAT_VERSION,
        "software": {"name": "ags-diary", "version": settings.APP_VERSION},
        "exported_at": started.isoformat(timespec="seconds"),
        "options": options.as_dict(),
        "k": options.k,
        "quasi_identifiers": list(QUASI_IDENTIFIERS),
        "generalisation": [
            "genotype suppressed (disease_group kept)",
            "country suppressed (region kept)",
            "genotype and country suppressed",
            "age band widened to 10 years",
            "age band suppressed",
            "sex suppressed",
            "child held back",
        ],
        "dates": "shifted back 0–364 days per child"
        if options.shift_dates
        else "days from day 0 (first JAK-inhibitor dose)",
        "freeze": options.cutoff.isoformat(),
        "record_end": f"each child's record ends 0–{options.end_span} days before the freeze "
        f"(keyed per child): no date is placed closer than ±{options.date_uncertainty_days} days",
        # Aggregate cells of 1–4 children are suppressed, with complementary cells so that
        # none can be derived from the others (DOMAIN §9). Released children come in classes
        # of k or more, so the counts of exported children by level need no suppression.
        "children": {
            "eligible": deidentify.SUPPRESSED if hidden else group.eligible,
            "exported": exported,
            "exported_whole": whole,
            "generalised": group.generalised,
            "held_back": held,
        },
        "children_by_site": deidentify.publish_counts(
            dict(sorted(by_site.items())), total_known=True
        ),
        "children_by_disease_group": deidentify.publish_counts(
            dict(sorted(by_group.items())), total_known=True
        ),
        "files": files,
    }
