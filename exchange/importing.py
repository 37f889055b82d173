"""Importing historical data: the tables of `tables.py`, from a folder, a zip or CSV files.

Two steps. First every file is read and every row validated, writing nothing; any problem is
reported with its file, row, column and reason, and the import stops there. Then, in one
transaction, each row is stored through the same path as the diary pages (`recording.py`,
`record_lab`, the models' validation), so the change history names the importing user; a row
that clashes with what is stored is a problem too, and the whole transaction is rolled back.
A row equal to a stored one (same natural key, same values) is left alone: importing the same
file twice changes nothing the second time.
"""

import csv
import hashlib
import io
import re
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePosixPath
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.models import HistoricalRecords

from diary import assessments, csvsafe, recording
from diary.access import log_access
from diary.doses import dose_problem
from diary.models import (
    AccessAction,
    Child,
    DataTransfer,
    DiaryEntry,
    DoseAdministration,
    DoseStatus,
    GrowthMeasurement,
    Medicine,
    Prescription,
    SteroidDose,
    SteroidPrescription,
    VisitAssessment,
)
from exchange import tables as t
from exchange.tables import Column, Table, Type, Use
from outcomes.labs import record_lab, to_canonical, uln_missing
from outcomes.models import NEEDS_ULN, LabResult

MAX_BYTES = 200 * 1024 * 1024  # uncompressed, all files together: refuses a zip bomb
IGNORED_FILES = {t.DICTIONARY_FILENAME, t.MANIFEST_FILENAME}
TRUE = {"1", "true", "yes", "y", "oui", "o", "vrai"}
FALSE = {"0", "false", "no", "n", "non", "faux"}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
WHOLE = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None  # as a spreadsheet numbers it: the header is row 1
    column: str
    message: str

    def __str__(self) -> str:
        where = [self.file or _("the upload")]
        if self.row is not None:
            where.append(_("row %(row)d") % {"row": self.row})
        if self.column:
            where.append(_("column %(column)s") % {"column": self.column})
        return f"{', '.join(where)}: {self.message}"


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    rows: int = 0  # data rows read
    stored: bool = False  # committed (not a dry run, no problem)
    sha256: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


class _Bad(Exception):
    """One cell or row that cannot be imported: {column: message}."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


@dataclass
class Row:
    table: Table
    number: int
    values: dict  # parsed cells of the columns present in the file
    present: set[str]
    child: Child | None = None
    cleaned: dict = field(default_factory=dict)


# --- Reading files ------------------------------------------------------------------------------


@dataclass
class Source:
    """The files to import: (name, bytes), and a checksum of them for the log."""

    files: list[tuple[str, bytes]]
    name: str

    @property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        if len(self.files) == 1:
            digest.update(self.files[0][1])
            return digest.hexdigest()
        for name, data in sorted(self.files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return digest.hexdigest()


class SourceError(Exception):
    pass


def _from_zip(opened, name: str) -> list[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(opened)
    except zipfile.BadZipFile:
        raise SourceError(_("%(name)s is not a zip file.") % {"name": name}) from None
    with archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and not info.filename.startswith("__MACOSX/")
            and not PurePosixPath(info.filename).name.startswith(".")
        ]
        if sum(info.file_size for info in members) > MAX_BYTES:
            raise SourceError(_("The files are too large to import at once: split them."))
        return [(info.filename, archive.read(info)) for info in members]


def source_from_path(path: Path) -> Source:
    """A folder of CSV files, a zip of them or one CSV file."""
    if path.is_dir():
        files = [(p.name, p.read_bytes()) for p in sorted(path.iterdir()) if p.is_file()]
        files = [(n, data) for n, data in files if not n.startswith(".")]
    elif not path.exists():
        raise SourceError(_("%(name)s does not exist.") % {"name": path})
    elif path.suffix.lower() == ".zip":
        with path.open("rb") as opened:
            files = _from_zip(opened, path.name)
    else:
        files = [(path.name, path.read_bytes())]
    if sum(len(data) for _name, data in files) > MAX_BYTES:
        raise SourceError(_("The files are too large to import at once: split them."))
    return Source(files, path.name)


def source_from_file(opened, name: str) -> Source:
    """One file: a zip of the CSV files, or one CSV file."""
    if name.lower().endswith(".zip"):
        return Source(_from_zip(opened, name), name)
    data = opened.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise SourceError(_("The files are too large to import at once: split them."))
    return Source([(name, data)], name)


def source_from_uploads(uploads) -> Source:
    """Uploaded files: a zip, or one or more CSV files."""
    files = [pair for upload in uploads for pair in source_from_file(upload, upload.name).files]
    if sum(len(data) for _name, data in files) > MAX_BYTES:
        raise SourceError(_("The files are too large to import at once: split them."))
    return Source(files, ", ".join(upload.name for upload in uploads))


def _known_files(source: Source, problems: list[Problem]) -> dict[str, bytes]:
    """The tables' files by name; an unknown or repeated file is a problem."""
    found: dict[str, bytes] = {}
    for path, data in source.files:
        name = PurePosixPath(path).name.lower()
        if name in IGNORED_FILES:
            continue
        if name not in t.BY_FILENAME:
            problems.append(
                Problem(
                    path,
                    None,
                    "",
                    _("Unknown file: the files are named %(names)s.")
                    % {"names": ", ".join(t.BY_FILENAME)},
                )
            )
        elif name in found:
            problems.append(Problem(path, None, "", _("This file is given twice.")))
        else:
            found[name] = data
    if not found and not problems:
        problems.append(
            Problem(
                source.name,
                None,
                "",
                _("No table found: the files are named %(names)s.")
                % {"names": ", ".join(t.BY_FILENAME)},
            )
        )
    return found


def _records(table: Table, data: bytes, problems: list[Problem]) -> Iterator[tuple[int, dict]]:
    """(row number, {column: text}) of a CSV file whose header names the table's columns."""
    filename = table.filename
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(
            Problem(filename, None, "", _("The file is not UTF-8 text: save it as “CSV UTF-8”."))
        )
        return
    first_line = text.split("\n", 1)[0]
    # Spreadsheets set to French write semicolons.
    delimiter = ";" if ";" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [cell.strip().lower() for cell in next(reader, [])]
    known = set(table.names)
    bad_header = False
    for index, name in enumerate(header):
        if name not in known:
            problems.append(
                Problem(
                    filename,
                    1,
                    name,
                    _("Unknown column “%(name)s”: the columns of %(file)s are %(names)s.")
                    % {"name": name, "file": filename, "names": ", ".join(table.names)},
                )
            )
            bad_header = True
        elif name in header[:index]:
            problems.append(Problem(filename, 1, name, _("This column is given twice.")))
            bad_header = True
    for column in table.columns:
        if column.use == Use.REQUIRED and column.name not in header:
            problems.append(Problem(filename, 1, column.name, _("This column is missing.")))
            bad_header = True
    if bad_header:
        return  # the cells cannot be trusted to be in their columns
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            problems.append(
                Problem(
                    filename,
                    number,
                    "",
                    _("This row has %(cells)d cells; the header has %(columns)d.")
                    % {"cells": len(cells), "columns": len(header)},
                )
            )
            continue
        cells += [""] * (len(header) - len(cells))
        yield number, dict(zip(header, cells, strict=True))


# --- Cells --------------------------------------------------------------------------------------


def parse_cell(column: Column, text: str):
    """The typed value of TEXT in COLUMN (None when empty), or _Bad."""
    text = text.strip()
    if column.type == Type.TEXT:
        text = csvsafe.restore(text)  # the apostrophe the export put before a formula
    if text == "":
        if column.use == Use.REQUIRED:
            raise _Bad({column.name: _("This column is required.")})
        return None
    if column.choices:
        allowed = {value.lower(): value for value in column.values}
        if text.lower() not in allowed:
            raise _Bad(
                {
                    column.name: _("“%(value)s” is not allowed: use one of %(choices)s.")
                    % {"value": text, "choices": ", ".join(column.values)}
                }
            )
        return allowed[text.lower()]
    if column.type == Type.DATE:
        try:
            if not ISO_DATE.fullmatch(text):
                raise ValueError
            return date.fromisoformat(text)
        except ValueError:
            raise _Bad(
                {column.name: _("“%(value)s” is not a date: write YYYY-MM-DD.") % {"value": text}}
            ) from None
    if column.type == Type.INTEGER:
        if column.name.startswith(t.ITEM_PREFIX) and not WHOLE.fullmatch(text):
            return text  # the diary's own validation explains what a score must be
        if not WHOLE.fullmatch(text):
            raise _Bad({column.name: _("“%(value)s” is not a whole number.") % {"value": text}})
        return int(text)
    if column.type == Type.DECIMAL:
        try:
            number = Decimal(text.replace(",", "."))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise _Bad({column.name: _("“%(value)s” is not a number.") % {"value": text}})
        return number
    if column.type == Type.BOOLEAN:
        if text.lower() in TRUE:
            return True
        if text.lower() in FALSE:
            return False
        raise _Bad({column.name: _("Write 1 for yes or 0 for no.")})
    return text


def _parse_row(table: Table, number: int, cells: dict) -> Row:
    values, errors = {}, {}
    for name, text in cells.items():
        column = table.column(name)
        if not column.imported and name != "daily_score":
            continue  # computed and provenance columns: what the export wrote, set again here
        try:
            values[name] = parse_cell(column, text)
        except _Bad as bad:
            errors.update(bad.errors)
    if errors:
        raise _Bad(errors)
    return Row(table, number, values, {n for n, v in values.items() if v is not None})


# --- Validation of a row: plain data in, cleaned values out, nothing written ---------------------


def _map(errors: dict, names: dict[str, str] | None = None) -> dict[str, str]:
    """Model or recording errors by field as errors by column."""
    names = names or {}
    mapped = {}
    for name, messages in errors.items():
        message = messages if isinstance(messages, str) else " ".join(str(m) for m in messages)
        column = names.get(name, "" if name == "__all__" else name)
        mapped[column] = f"{mapped[column]} {message}" if column in mapped else message
    return mapped


def _day(child: Child, day: date, column: str = "date") -> None:
    if problem := recording.day_problem(child, day):
        raise _Bad({column: problem})


def _model_values(model, row: Row, names) -> dict:
    """ROW's values for the fields NAMES of MODEL, an empty cell taking the field's default."""
    values = {}
    for name in names:
        value = row.values.get(name)
        values[name] = value if value is not None else model._meta.get_field(name).get_default()
    return values


def _new_child(row: Row, site, user) -> Child:
    values = _model_values(Child, row, t.CHILD_FIELDS)
    values["timezone"] = row.values.get("timezone") or site.timezone  # the site's, not the model's
    values["country"] = values["country"].upper()
    child = Child(site=site, reference=row.values["child_ref"], created_by=user, **values)
    try:
        child.full_clean(exclude=["created_by"])
    except ValidationError as error:
        raise _Bad(_map(error.message_dict, {"reference": "child_ref"})) from None
    return child


def _same_child(row: Row, child: Child) -> None:
    """A registered child: the file's non-empty cells must say what is registered."""
    errors = {}
    for name in row.present - {"child_ref"}:
        stored = child.country.code if name == "country" else getattr(child, name)
        given = row.values[name].upper() if name == "country" else row.values[name]
        if given != stored:
            errors[name] = _(
                "%(ref)s is registered with %(stored)s: correct the file or the child's details."
            ) % {"ref": child.reference, "stored": t.as_text(stored) or "–"}
    if errors:
        raise _Bad(errors)


def _check_diary(row: Row) -> dict:
    child, values = row.child, row.values
    _day(child, values["date"])
    instrument = child.get_instrument()
    errors = {}
    if values.get("instrument") not in (None, instrument.key):
        errors["instrument"] = _("%(ref)s's diary is %(key)s.") % {
            "ref": child.reference,
            "key": instrument.key,
        }
    if values.get("instrument_version") not in (None, instrument.version):
        errors["instrument_version"] = _(
            "Only version %(version)d of this diary can be imported."
        ) % {"version": instrument.version}
    data = {
        "scores": {
            name.removeprefix(t.ITEM_PREFIX): value
            for name, value in values.items()
            if name.startswith(t.ITEM_PREFIX) and value is not None
        },
        "no_symptoms": bool(values.get("no_symptoms")),
        "max_temperature": values.get("max_temperature"),
        "illness": bool(values.get("illness")),
        "zoster": bool(values.get("zoster")),
        **{name: values.get(name) for name in recording.SEIZURE_DETAILS},
        "note": values.get("note") or "",
    }
    try:
        cleaned = recording.clean_entry(child, data)
    except recording.Invalid as invalid:
        names = {f"scores.{item.key}": t.ITEM_PREFIX + item.key for item in instrument.items}
        names |= {f"scores.{key}": t.ITEM_PREFIX + key for key in data["scores"]}
        names["scores"] = t.ITEM_PREFIX + "*"
        errors |= _map(invalid.errors, names)
        raise _Bad(errors) from None
    given = values.get("daily_score")
    computed = cleaned["score"]
    if given is not None and (computed is None or abs(float(given) - computed) > 1e-4):
        errors["daily_score"] = _(
            "The daily score %(given)s does not match the item scores (%(computed)s)."
        ) % {
            "given": t.as_text(given),
            "computed": t.as_text(computed) if computed is not None else _("too few answered"),
        }
    if errors:
        raise _Bad(errors)
    return data


def _check_dose(row: Row) -> dict:
    values = row.values
    _day(row.child, values["date"])
    given = values.get("given_mg")
    if values["status"] == DoseStatus.DIFFERENT and given is None:
        raise _Bad({"given_mg": _("Give the amount that was given.")})
    if given is not None and (problem := dose_problem(values["drug"], given)):
        raise _Bad({"given_mg": problem})
    return {name: values.get(name) for name in ("drug", "slot", "status", "given_mg")}


def _check_steroid(row: Row) -> dict:
    _day(row.child, row.values["date"])
    if row.values.get("dose_number") is not None and row.values["dose_number"] < 1:
        raise _Bad({"dose_number": _("Number the doses of a day from 1.")})
    try:
        return recording.clean_steroid({"drug": row.values["drug"], "mg": row.values["mg"]})
    except recording.Invalid as invalid:
        raise _Bad(_map(invalid.errors)) from None


def _check_growth(row: Row) -> dict:
    _day(row.child, row.values["date"])
    data = {name: row.values.get(name) for name in ("weight_kg", "height_cm")}
    # The file's sds_confirmed confirms an extreme SDS, as the diary's own confirmation does.
    data["confirm_sds"] = bool(row.values.get("sds_confirmed"))
    try:
        recording.clean_growth(row.child, row.values["date"], data)
    except recording.Invalid as invalid:
        errors = dict(invalid.errors)
        if errors.pop("confirm_sds", None):  # the file's way to confirm, said once
            for name, message in errors.items():
                errors[name] = f"{message} " + _("In a file: sds_confirmed = 1.")
        raise _Bad(_map(errors)) from None
    return data


def _model_check(instance, child: Child, row: Row, start_column: str = "start_date") -> None:
    """The model's own validation; the child's dates are checked here for a child not stored yet
    (the models skip them then)."""
    errors = {}
    try:
        instance.clean_fields(exclude=["child", "created_by", "entered_by"])
        instance.clean()
    except ValidationError as error:
        errors = _map(error.message_dict)
    day = row.values.get(start_column)
    if child.pk is None and day is not None and day < child.date_of_birth:
        errors.setdefault(start_column, _("The date is before the child's date of birth."))
    if errors:
        raise _Bad(errors)


def _stored_rx(model, row: Row):
    if row.child.pk is None:
        return None
    return model.objects.filter(child=row.child, start_date=row.values["start_date"]).first()


def _check_prescription(row: Row) -> dict:
    values = _model_values(Prescription, row, t.PRESCRIPTION_FIELDS)
    if _stored_rx(Prescription, row) is None:  # a stored one is compared when writing
        _model_check(Prescription(child=row.child, **values), row.child, row)
    return values


def _check_steroid_rx(row: Row) -> dict:
    values = _model_values(SteroidPrescription, row, t.STEROID_PRESCRIPTION_FIELDS)
    if _stored_rx(SteroidPrescription, row) is None:
        _model_check(SteroidPrescription(child=row.child, **values), row.child, row)
    return values


LAB_FIELDS = {"entered_value": "value", "entered_unit": "unit", "value": "value"}


def _check_lab(row: Row) -> dict:
    values, child = row.values, row.child
    errors = {}
    day = values["sample_date"]
    if problem := recording.day_problem(child, day):
        errors["sample_date"] = problem
    unit = values.get("unit") or ""
    try:
        converted, canonical = to_canonical(values["analyte"], values["value"], unit)
    except ValidationError as error:
        errors |= _map(error.message_dict)
        raise _Bad(errors) from None
    if unit == "":
        unit = canonical
    if values["analyte"] in NEEDS_ULN and values.get("uln") in (None, ""):
        errors["uln"] = uln_missing(values["analyte"])
    if values.get("uln") is not None:
        try:
            to_canonical(values["analyte"], values["uln"], unit)
        except ValidationError as error:
            errors |= _map(error.message_dict, {"value": "uln"})
    result = LabResult(
        sample_date=day,
        analyte=values["analyte"],
        value=converted,
        unit=canonical,
        entered_value=values["value"],
        entered_unit=unit,
        assay=values.get("assay") or "",
        positivity_threshold=values.get("positivity_threshold"),
    )
    try:
        result.clean_fields(exclude=["child", "entered_by", "uln"])
    except ValidationError as error:
        errors |= _map(error.message_dict, LAB_FIELDS)
    if errors:
        raise _Bad(errors)
    return {
        "analyte": values["analyte"],
        "sample_date": day,
        "value": values["value"],
        "unit": unit,
        "uln": values.get("uln"),
        "assay": values.get("assay") or "",
        "positivity_threshold": values.get("positivity_threshold"),
    }


def _check_medicine(row: Row) -> dict:
    values = _model_values(Medicine, row, t.MEDICINE_FIELDS)
    if _stored_medicine(row) is None:  # a stored one is compared when writing
        _model_check(Medicine(child=row.child, **values), row.child, row)
    return values


def _stored_medicine(row: Row):
    if row.child.pk is None:
        return None
    return Medicine.objects.filter(
        child=row.child,
        name__iexact=(row.values.get("name") or "").strip(),
        start_date=row.values["start_date"],
    ).first()


def _write_medicine(row: Row, user) -> bool:
    values = row.cleaned
    stored = _stored_medicine(row)
    if stored is not None:
        if all(getattr(stored, name) == value for name, value in values.items()):
            return False
        raise _clash(row, stored)
    instance = Medicine(child=row.child, entered_by=user, **values)
    try:
        instance.full_clean(exclude=["entered_by"])
    except ValidationError as error:
        raise _Bad(_map(error.message_dict)) from None
    instance.save()
    return True


def _check_assessment(row: Row) -> dict:
    _day(row.child, row.values["date"])
    items = {
        key: row.values.get(t.AGS_PREFIX + key)
        for key in assessments.ITEM_KEYS
        if row.values.get(t.AGS_PREFIX + key) is not None
    }
    try:
        values = assessments.clean(
            {
                "ags_items": items or None,
                "physician_global": row.values.get("physician_global"),
                "parent_global": row.values.get("parent_global"),
            }
        )
    except assessments.Invalid as invalid:
        names = {f"ags_items.{key}": t.AGS_PREFIX + key for key in assessments.ITEM_KEYS}
        raise _Bad(_map(invalid.errors, {**names, "ags_items": t.AGS_PREFIX + "*"})) from None
    return {**values, "note": row.values.get("note") or ""}


def _write_assessment(row: Row, user) -> bool:
    values = row.cleaned
    stored = VisitAssessment.objects.filter(child=row.child, date=row.values["date"]).first()
    if stored is not None:
        if all(getattr(stored, name) == value for name, value in values.items()):
            return False
        raise _clash(row, stored)
    instance = VisitAssessment(child=row.child, date=row.values["date"], recorded_by=user, **values)
    try:
        instance.full_clean(exclude=["recorded_by"])
    except ValidationError as error:
        raise _Bad(_map(error.message_dict)) from None
    instance.save()
    return True


CHECKS = {
    t.PRESCRIPTIONS.name: _check_prescription,
    t.STEROID_PRESCRIPTIONS.name: _check_steroid_rx,
    t.GROWTH.name: _check_growth,
    t.DIARY.name: _check_diary,
    t.DOSES.name: _check_dose,
    t.STEROIDS.name: _check_steroid,
    t.LABS.name: _check_lab,
    t.MEDICINES.name: _check_medicine,
    t.ASSESSMENTS.name: _check_assessment,
}


def _key(row: Row) -> tuple:
    key = []
    for name in row.table.key:
        value = row.values.get(name)
        if name == "dose_number":
            value = value or 1
        if isinstance(value, Decimal):
            value = value.normalize()
        key.append(value if value is not None else "")
    return tuple(key)


def _check_child(row: Row, children: dict, site, user) -> None:
    stored = children.get(row.values["child_ref"])
    if stored is not None:
        row.child = stored
        _same_child(row, stored)
    else:
        row.child = _new_child(row, site, user)


def _check_row(row: Row, children: dict, site) -> None:
    ref = row.values["child_ref"]
    row.child = children.get(ref)
    if row.child is None:
        raise _Bad(
            {
                "child_ref": _(
                    "Unknown child reference “%(ref)s” at %(site)s: register the child or add "
                    "it to children.csv."
                )
                % {"ref": ref, "site": site.code}
            }
        )
    row.cleaned = CHECKS[row.table.name](row)


def _duplicate(row: Row, first: int) -> Problem:
    key = ", ".join(row.table.key)
    return Problem(
        row.table.filename,
        row.number,
        key,
        _("Duplicate row: the same %(key)s as row %(row)d.") % {"key": key, "row": first},
    )


def _gaps(table: Table, rows: list[Row]) -> list[Problem]:
    """Steroid doses of one drug on one day must be numbered 1, 2, 3…: the numbers say which
    stored dose a row is, so that importing a file again finds the same ones."""
    numbers: dict[tuple, list[Row]] = {}
    for row in rows:
        if row.table is table:
            numbers.setdefault(_key(row)[:-1], []).append(row)
    problems = []
    for (_ref, day, drug), same_day in numbers.items():
        if {_key(r)[-1] for r in same_day} != set(range(1, len(same_day) + 1)):
            problems.append(
                Problem(
                    table.filename,
                    same_day[0].number,
                    "dose_number",
                    _("Number the doses of %(drug)s on %(day)s 1, 2, 3… without gaps.")
                    % {"drug": drug, "day": day},
                )
            )
    return problems


def validate(source: Source, site, user) -> tuple[list[Row], list[Problem], int]:
    """Every row of SOURCE parsed and validated, nothing written: (rows, problems, rows read)."""
    problems: list[Problem] = []
    files = _known_files(source, problems)
    stored = Child.objects.filter(site=site).exclude(reference="")
    if user is not None:
        stored = stored.filter(pk__in=Child.objects.managed_by(user))
    children = {child.reference: child for child in stored}
    refused: set[str] = set()  # new children refused: their rows are not checked
    rows: list[Row] = []
    read = 0
    unread = False
    for table in t.TABLES:
        if table.filename not in files:
            continue
        seen: dict[tuple, int] = {}
        for number, cells in _records(table, files[table.filename], problems):
            read += 1
            ref = csvsafe.restore(cells.get("child_ref", "").strip())
            if table is not t.CHILDREN and (ref in refused or (unread and ref not in children)):
                continue
            try:
                row = _parse_row(table, number, cells)
                key = _key(row)
                if key in seen:
                    problems.append(_duplicate(row, seen[key]))
                    continue
                seen[key] = number
                if table is t.CHILDREN:
                    _check_child(row, children, site, user)
                    children[ref] = row.child
                else:
                    _check_row(row, children, site)
            except _Bad as bad:
                if table is t.CHILDREN and ref not in children:
                    refused.add(ref)
                problems += [Problem(table.filename, number, c, m) for c, m in bad.errors.items()]
                continue
            rows.append(row)
        if table is t.CHILDREN:
            # children.csv could not be read: its children are not "unknown" elsewhere.
            unread = any(p.file.endswith(table.filename) and p.row in (None, 1) for p in problems)
        if table is t.STEROIDS:
            problems += _gaps(table, rows)
    return rows, problems, read


# --- Writing ------------------------------------------------------------------------------------


@contextmanager
def acting_as(user):
    """The change history names USER outside a web request (the command), as it does inside."""
    context = HistoricalRecords.context
    if getattr(context, "request", None) is not None or user is None:
        yield
        return
    context.request = SimpleNamespace(user=user)
    try:
        yield
    finally:
        del context.request


def _clash(row: Row, stored) -> _Bad:
    return _Bad(
        {
            ", ".join(row.table.key): _(
                "A different %(what)s is already stored for this %(key)s: change it in the "
                "app, or remove this row."
            )
            % {"what": stored._meta.verbose_name, "key": ", ".join(row.table.key)}
        }
    )


def _record(model, row: Row, user, day) -> bool:
    try:
        saved = recording.record(model, row.child, user, uuid.uuid4(), day, row.cleaned)
    except recording.Conflict as conflict:
        raise _clash(row, conflict.current) from None
    except recording.Invalid as invalid:
        raise _Bad(_map(invalid.errors)) from None
    return saved.created


def _write_child(row: Row, user) -> bool:
    if row.child.pk is not None:
        return False
    row.child.save()
    return True


def _write_rx(model, row: Row, user) -> bool:
    values = row.cleaned
    stored = model.objects.filter(child=row.child, start_date=values["start_date"]).first()
    if stored is not None:
        if all(getattr(stored, name) == value for name, value in values.items()):
            return False
        raise _clash(row, stored)
    instance = model(child=row.child, created_by=user, **values)
    try:
        instance.full_clean(exclude=["created_by"])
    except ValidationError as error:
        raise _Bad(_map(error.message_dict)) from None
    instance.save()
    return True


def _write_steroid(row: Row, user) -> bool:
    number = row.values.get("dose_number") or 1
    same_day = list(
        SteroidDose.objects.filter(
            child=row.child, date=row.values["date"], drug=row.cleaned["drug"]
        ).order_by("created", "id")
    )
    if len(same_day) >= number:
        if same_day[number - 1].mg == row.cleaned["mg"]:
            return False
        raise _clash(row, same_day[number - 1])
    return _record(SteroidDose, row, user, row.values["date"])


def _write_lab(row: Row, user) -> bool:
    values = row.cleaned
    stored = LabResult.objects.filter(
        child=row.child,
        sample_date=values["sample_date"],
        analyte=values["analyte"],
        assay=values["assay"],
        entered_value=values["value"],
        entered_unit=values["unit"],
    )
    if stored.exists():
        return False
    try:
        # Historical results get their guideline flags, but no urgent email.
        record_lab(row.child, user, alert=False, **values)
    except ValidationError as error:
        raise _Bad(_map(error.message_dict, LAB_FIELDS)) from None
    return True


WRITERS = {
    t.CHILDREN.name: _write_child,
    t.PRESCRIPTIONS.name: lambda row, user: _write_rx(Prescription, row, user),
    t.STEROID_PRESCRIPTIONS.name: lambda row, user: _write_rx(SteroidPrescription, row, user),
    t.GROWTH.name: lambda row, user: _record(GrowthMeasurement, row, user, row.values["date"]),
    t.DIARY.name: lambda row, user: _record(DiaryEntry, row, user, row.values["date"]),
    t.DOSES.name: lambda row, user: _record(DoseAdministration, row, user, row.values["date"]),
    t.STEROIDS.name: _write_steroid,
    t.LABS.name: _write_lab,
    t.MEDICINES.name: _write_medicine,
    t.ASSESSMENTS.name: _write_assessment,
}


def _order(row: Row) -> tuple:
    # Steroid doses of a day in their numbered order: the order they are stored in numbers them.
    return (row.values.get("dose_number") or 1,) if row.table is t.STEROIDS else ()


def import_data(source: Source, *, site, user=None, dry_run: bool = False, request=None) -> Report:
    """Validate SOURCE for SITE, then store it as USER unless DRY_RUN or any problem; a stored
    import is written to the access log (from REQUEST's address when there is one)."""
    report = Report(sha256=source.sha256)
    rows, report.problems, report.rows = validate(source, site, user)
    if report.problems:
        return report
    for table in t.TABLES:
        report.created[table.name] = report.unchanged[table.name] = 0
    with acting_as(user), transaction.atomic():
        for row in sorted(rows, key=lambda r: (t.TABLES.index(r.table), *_order(r))):
            try:
                created = WRITERS[row.table.name](row, user)
            except _Bad as bad:
                report.problems += [
                    Problem(row.table.filename, row.number, c, m) for c, m in bad.errors.items()
                ]
                continue
            counts = report.created if created else report.unchanged
            counts[row.table.name] += 1
        if report.problems or dry_run:
            transaction.set_rollback(True)
            return report
        transfer = DataTransfer.objects.create(
            kind=DataTransfer.Kind.IMPORT,
            user=user,
            site=site,
            file_name=source.name[:255],
            finished=timezone.now(),
            row_counts={"created": report.created, "unchanged": report.unchanged},
            size=sum(len(data) for _name, data in source.files),
            sha256=report.sha256,
        )
        log_access(
            request,
            AccessAction.IMPORT,
            site=site,
            user=user,
            what="import",
            obj=transfer,
            rows=sum(report.created.values()),
        )
    report.stored = True
    return report
