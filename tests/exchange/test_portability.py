"""Import of historical data and the identifiable export: one set of tables, a lossless round
trip, idempotent imports and a full list of problems with nothing written."""

import csv
import hashlib
import io
import json
import shutil
import tracemalloc
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from diary.models import (
    Child,
    DataTransfer,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Prescription,
    Site,
    SteroidDose,
    SteroidPrescription,
    VisitAssessment,
)
from exchange import tables
from exchange.exporting import stream_zip, write_zip
from exchange.importing import (
    SourceError,
    import_data,
    parse_cell,
    source_from_file,
    source_from_path,
)
from outcomes.models import LabResult

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "import_example"
DATA_MODELS = (
    Child,
    Prescription,
    SteroidPrescription,
    GrowthMeasurement,
    DiaryEntry,
    DoseAdministration,
    SteroidDose,
    LabResult,
    VisitAssessment,
)


def counts() -> dict[str, int]:
    """Rows of every data model and of every history table of the project's apps."""
    found = {m.__name__: m.objects.count() for m in DATA_MODELS}
    for model in apps.get_models():
        if model.__name__.startswith("Historical"):
            found[model.__name__] = model.objects.count()
    return found


def run(path, site, user, dry_run=False):
    return import_data(source_from_path(Path(path)), site=site, user=user, dry_run=dry_run)


def read_zip(data: bytes) -> dict[str, list[dict]]:
    """Each CSV of an export as a list of rows."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            name.removesuffix(".csv"): list(
                csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig")))
            )
            for name in archive.namelist()
            if name.endswith(".csv")
        }


def export(site: Site, user) -> bytes:
    out = io.BytesIO()
    write_zip(
        out,
        Child.objects.managed_by(user).filter(site=site).exclude(reference=""),
        about={"site": site.code},
    )
    return out.getvalue()


def without_provenance(files: dict[str, list[dict]]) -> dict[str, list[dict]]:
    kept = {}
    for table in tables.TABLES:
        names = [c.name for c in table.columns if c.use != tables.Use.PROVENANCE]
        kept[table.name] = [{name: row[name] for name in names} for row in files[table.name]]
    return kept


@pytest.fixture
def example(tmp_path) -> Path:
    """A copy of the example import, to spoil."""
    copy = tmp_path / "example"
    shutil.copytree(EXAMPLE, copy)
    return copy


def test_the_example_imports_with_history_in_the_importers_name(world):
    report = run(EXAMPLE, world.north, world.carol)
    assert report.ok and report.stored, report.problems
    assert report.created == {
        "children": 2,
        "prescriptions": 3,
        "steroid_prescriptions": 2,
        "growth": 3,
        "diary": 16,
        "doses": 32,
        "steroids": 5,
        "labs": 8,
        "medicines": 2,
        "assessments": 2,
    }
    zoe = Child.objects.get(site=world.north, reference="HX-001")
    visit = zoe.assessments.get()
    assert (visit.ags_scale, visit.severity_band, visit.recorded_by) == (7, "moderate", world.carol)
    assert (zoe.first_name, zoe.created_by) == ("Zoë", world.carol)
    entry = DiaryEntry.objects.get(child=zoe, date=date(2024, 3, 10))
    assert entry.score == 5 and entry.fever and entry.illness and entry.reported_by == world.carol
    assert "paracetamol" in entry.note
    assert entry.history.get().history_user == world.carol
    assert DiaryEntry.objects.get(child=zoe, date=date(2024, 3, 8)).no_symptoms
    # Doses given as prescribed take the dose of the prescription in force that day.
    dose = DoseAdministration.objects.get(child=zoe, date=date(2024, 3, 10), slot="afternoon")
    assert (dose.status, dose.given_mg, dose.prescribed_mg) == ("different", 1, 2)
    assert dose.prescription.start_date == date(2024, 3, 9)
    # Lab results are converted; the creatinine gets its eGFR from the imported height.
    hb = LabResult.objects.get(child=zoe, analyte="hb")
    assert (hb.value, hb.unit) == (Decimal("11.8"), "g/dL")
    assert (hb.entered_value, hb.entered_unit) == (118, "g/L")
    assert LabResult.objects.get(child=zoe, analyte="creatinine").egfr is not None
    assert LabResult.objects.get(child=zoe, analyte="bilirubin").uln == Decimal("20.52")
    transfer = DataTransfer.objects.get(kind="import")
    assert (transfer.user, transfer.site, transfer.sha256) == (
        world.carol,
        world.north,
        report.sha256,
    )
    assert transfer.row_counts["created"]["diary"] == 16


def test_a_second_import_changes_nothing(world):
    run(EXAMPLE, world.north, world.carol)
    before = counts()
    report = run(EXAMPLE, world.north, world.carol)
    assert report.ok and report.stored
    assert sum(report.created.values()) == 0
    assert report.unchanged["diary"] == 16 and report.unchanged["steroids"] == 5
    assert counts() == before


def test_a_dry_run_writes_nothing(world):
    before = counts()
    report = run(EXAMPLE, world.north, world.carol, dry_run=True)
    assert report.ok and not report.stored
    assert report.created["diary"] == 16
    assert counts() == before
    assert not DataTransfer.objects.exists()


def test_import_export_import_is_lossless(world):
    run(EXAMPLE, world.north, world.carol)
    first = read_zip(export(world.north, world.carol))
    # Everything the example says is in the export, cell for cell.
    for path in EXAMPLE.glob("*.csv"):
        table = tables.BY_FILENAME[path.name]
        with path.open(encoding="utf-8") as opened:
            for row in csv.DictReader(opened):
                given = {k: as_written(table, k, v) for k, v in row.items() if v != ""}
                if table is tables.STEROIDS:
                    given.setdefault("dose_number", "1")
                stored = [
                    r
                    for r in first[table.name]
                    if all(r[k] == given[k] for k in table.key if k in given)
                ]
                assert len(stored) == 1, (path.name, row)
                assert {k: stored[0][k] for k in given} == given, path.name
    # The export imported at another site, then exported again: the same tables.
    data = export(world.north, world.carol)
    report = import_data(
        source_from_file(io.BytesIO(data), "north.zip"), site=world.south, user=world.dan
    )
    assert report.ok and report.stored, report.problems[:5]
    second = read_zip(export(world.south, world.dan))
    assert without_provenance(second) == without_provenance(first)
    assert sum(len(rows) for rows in first.values()) > 70
    # And imported where it came from: nothing changes.
    before = counts()
    report = import_data(
        source_from_file(io.BytesIO(data), "north.zip"), site=world.north, user=world.carol
    )
    assert report.ok and sum(report.created.values()) == 0
    assert counts() == before


def as_written(table, name: str, value: str) -> str:
    """VALUE as the export writes it (2.50 → 2.5, Morning → morning)."""
    return tables.as_text(parse_cell(table.column(name), value))


def test_the_export_has_a_dictionary_of_every_column_and_a_manifest(world):
    run(EXAMPLE, world.north, world.carol)
    data = export(world.north, world.carol)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        dictionary = list(
            csv.DictReader(io.StringIO(archive.read("data_dictionary.csv").decode("utf-8-sig")))
        )
        manifest = json.loads(archive.read("manifest.json"))
        for name in names - {"manifest.json"}:
            assert manifest["sha256"][name] == hashlib.sha256(archive.read(name)).hexdigest()
    assert names == {t.filename for t in tables.TABLES} | {"data_dictionary.csv", "manifest.json"}
    described = {(row["file"], row["column"]) for row in dictionary}
    assert described == {(t.filename, c.name) for t in tables.TABLES for c in t.columns}
    assert all(row["meaning"] and row["type"] for row in dictionary)
    sex = next(r for r in dictionary if r["column"] == "sex")
    assert "F, Female" in sex["allowed_values"]
    assert manifest["rows"]["diary"] == 16 and manifest["site"] == "north"
    for path in EXAMPLE.glob("*.csv"):
        header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        assert set(header) <= set(tables.BY_FILENAME[path.name].names), path.name


def test_shingles_round_trips_and_older_files_without_it_import_as_no(world):
    from diary import recording
    from outcomes.models import LabFlag

    run(EXAMPLE, world.north, world.carol)
    zoe = Child.objects.get(site=world.north, reference="HX-001")
    # The example predates the column: every imported day is without shingles.
    assert not DiaryEntry.objects.filter(zoster=True).exists()
    entry = DiaryEntry.objects.get(child=zoe, date=date(2024, 3, 10))
    data = {"scores": entry.scores, "illness": True, "zoster": True, "note": entry.note}
    recording.record(DiaryEntry, zoe, world.carol, entry.pk, entry.date, data, base_version=1)
    data = export(world.north, world.carol)
    first = read_zip(data)
    flagged = [(r["child_ref"], r["date"]) for r in first["diary"] if r["zoster"] == "1"]
    assert flagged == [("HX-001", "2024-03-10")]
    assert {r["zoster"] for r in first["diary"]} == {"0", "1"}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        dictionary = list(
            csv.DictReader(io.StringIO(archive.read("data_dictionary.csv").decode("utf-8-sig")))
        )
    row = next(r for r in dictionary if (r["file"], r["column"]) == ("diary.csv", "zoster"))
    assert "herpes zoster" in row["meaning"] and row["type"] == "boolean"
    assert "1, yes" in row["allowed_values"]
    # Imported at another site: the same day with shingles.
    report = import_data(
        source_from_file(io.BytesIO(data), "n.zip"), site=world.south, user=world.dan
    )
    assert report.ok and report.stored, report.problems[:5]
    moved = DiaryEntry.objects.get(
        child__site=world.south, child__reference="HX-001", date=date(2024, 3, 10)
    )
    assert moved.zoster and moved.history.get().history_user == world.dan
    assert without_provenance(read_zip(export(world.south, world.dan))) == without_provenance(first)
    # HX-001 takes baricitinib from 2024-03-09 (prescriptions.csv): flagged at both sites.
    for child in (zoe, moved.child):
        flag = LabFlag.objects.get(code="zoster", child=child)
        assert (flag.day, flag.source) == (date(2024, 3, 10), "SPARN JAKi guideline §7.3")


def test_a_shingles_cell_that_is_not_yes_or_no_is_reported(world, example):
    def add_column(rows):
        return [rows[0] + ["zoster"]] + [row + ["0"] for row in rows[1:]]

    rewrite(example / "diary.csv", add_column)
    set_cell(example / "diary.csv", 3, "zoster", "perhaps")
    report = run(example, world.north, world.carol)
    assert_reported(report.problems, [("diary.csv", 3, "zoster", "Write 1 for yes or 0 for no")])
    assert not DiaryEntry.objects.exists()
    set_cell(example / "diary.csv", 3, "zoster", "1")
    assert run(example, world.north, world.carol).ok
    assert DiaryEntry.objects.filter(zoster=True).count() == 1


# --- Bad input: the full list of problems, each with file, row and column; nothing written ---


def rewrite(path: Path, change) -> None:
    """Apply CHANGE to the rows (header included) of a CSV file."""
    with path.open(encoding="utf-8") as opened:
        rows = list(csv.reader(opened))
    rows = change(rows)
    with path.open("w", encoding="utf-8", newline="") as opened:
        csv.writer(opened).writerows(rows)


def set_cell(path: Path, row: int, column: str, value: str) -> None:
    def change(rows):
        rows[row - 1][rows[0].index(column)] = value
        return rows

    rewrite(path, change)


def wrong_header(example):
    set_cell(example / "growth.csv", 1, "date", "day")
    return [("growth.csv", 1, "day", "Unknown column"), ("growth.csv", 1, "date", "missing")]


def bad_date(example):
    set_cell(example / "diary.csv", 3, "date", "04/03/2024")
    return [("diary.csv", 3, "date", "is not a date")]


def unknown_child(example):
    set_cell(example / "doses.csv", 5, "child_ref", "HX-999")
    return [("doses.csv", 5, "child_ref", "Unknown child reference “HX-999”")]


def score_out_of_range(example):
    set_cell(example / "diary.csv", 2, "item_irritability", "7")
    return [("diary.csv", 2, "item_irritability", "between 0 and 3")]


def duplicate_row(example):
    rewrite(example / "labs.csv", lambda rows: [*rows, rows[3]])
    return [("labs.csv", 10, "child_ref, sample_date, analyte, assay, value, unit", "as row 4")]


def assessment_out_of_range(example):
    set_cell(example / "assessments.csv", 2, "ags_sitting", "2")
    set_cell(example / "assessments.csv", 3, "parent_global", "120")
    return [
        ("assessments.csv", 2, "ags_sitting", "0 (not achieved) or 1 (achieved)"),
        ("assessments.csv", 3, "parent_global", "from 0 to 100 mm"),
    ]


def growth_typo(example):
    set_cell(example / "growth.csv", 2, "height_cm", "210")  # a child of 5: 210 cm for 104.5
    return [("growth.csv", 2, "height_cm", "typing error")]


CASES = [
    wrong_header,
    bad_date,
    unknown_child,
    score_out_of_range,
    duplicate_row,
    assessment_out_of_range,
    growth_typo,
]


def assert_reported(problems, expected):
    for file, row, column, words in expected:
        assert any(
            (p.file, p.row, p.column) == (file, row, column) and words in p.message
            for p in problems
        ), (file, row, column, words, [str(p) for p in problems])


@pytest.mark.parametrize("spoil", CASES, ids=lambda f: f.__name__)
def test_bad_input_is_reported_and_nothing_is_written(world, example, spoil):
    expected = spoil(example)
    before = counts()
    report = run(example, world.north, world.carol)
    assert not report.ok and not report.stored
    assert_reported(report.problems, expected)
    assert len(report.problems) == len(expected), [str(p) for p in report.problems]
    assert counts() == before
    assert not DataTransfer.objects.exists()


def test_an_extreme_growth_value_imports_when_the_file_confirms_it(world, example):
    growth_typo(example)
    rewrite(
        example / "growth.csv",
        lambda rows: [
            [*r, "sds_confirmed" if i == 0 else "1" if i == 1 else ""] for i, r in enumerate(rows)
        ],
    )
    report = run(example, world.north, world.carol)
    assert report.ok and report.stored, [str(p) for p in report.problems]
    tall = GrowthMeasurement.objects.get(height_cm=210)
    assert tall.sds_confirmed and tall.height_sds > 8 and tall.growth_reference == "uk-who"


def test_every_problem_is_reported_at_once(world, example):
    # growth_typo's file has wrong_header's header: its rows are not read.
    cases = [spoil for spoil in CASES if spoil is not growth_typo]
    expected = [problem for spoil in cases for problem in spoil(example)]
    report = run(example, world.north, world.carol)
    assert_reported(report.problems, expected)
    assert counts()["DiaryEntry"] == 0 and counts()["Child"] == 2


def test_the_command_lists_problems_and_fails(world, example, capsys):
    score_out_of_range(example)
    with pytest.raises(CommandError, match="1 problem"):
        call_command("import_data", str(example), "--site", "north", "--user", "carol")
    assert "diary.csv, row 2, column item_irritability: The score must be between 0 and 3." in (
        capsys.readouterr().err
    )
    assert not DiaryEntry.objects.exists()


def test_the_command_imports_a_zip_and_checks_the_site(world, tmp_path, capsys):
    archive = tmp_path / "example.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in EXAMPLE.glob("*.csv"):
            out.write(path, f"import_example/{path.name}")
    call_command("import_data", str(archive), "--user", "carol", "--dry-run")
    assert "Dry run" in capsys.readouterr().out and not DiaryEntry.objects.exists()
    with pytest.raises(CommandError, match="not a clinician"):
        call_command("import_data", str(archive), "--site", "south", "--user", "carol")
    call_command("import_data", str(archive), "--site", "north", "--user", "carol")
    assert DiaryEntry.objects.filter(child__site=world.north).count() == 16


def test_a_clash_with_stored_data_rolls_everything_back(world, example):
    run(EXAMPLE, world.north, world.carol)
    set_cell(example / "growth.csv", 2, "weight_kg", "18.9")
    # A new day, valid, that must not be stored either.
    rewrite(
        example / "growth.csv",
        lambda rows: [*rows, ["HX-002", "2024-03-20", "25.1", ""]],
    )
    before = counts()
    report = run(example, world.north, world.carol)
    assert_reported(report.problems, [("growth.csv", 2, "child_ref, date", "already stored")])
    assert counts() == before


def test_a_registered_child_must_match(world, example):
    run(EXAMPLE, world.north, world.carol)
    set_cell(example / "children.csv", 2, "date_of_birth", "2018-06-21")
    report = run(example, world.north, world.carol)
    assert_reported(
        report.problems, [("children.csv", 2, "date_of_birth", "registered with 2018-06-20")]
    )


def test_more_bad_cells(world, example):
    set_cell(example / "children.csv", 3, "sex", "male?")
    set_cell(example / "growth.csv", 2, "weight_kg", "heavy")
    set_cell(example / "doses.csv", 2, "slot", "noon")
    set_cell(example / "labs.csv", 2, "value", "-4")
    set_cell(example / "labs.csv", 4, "uln", "")  # ALT: §6.7's rule needs its ULN
    set_cell(example / "steroids.csv", 6, "dose_number", "3")
    set_cell(example / "diary.csv", 2, "daily_score", "12")
    future = (date.today() + timedelta(days=3)).isoformat()
    set_cell(example / "prescriptions.csv", 2, "start_date", "2010-01-01")
    set_cell(example / "diary.csv", 4, "date", future)
    report = run(example, world.north, world.carol)
    assert_reported(
        report.problems,
        [
            ("children.csv", 3, "sex", "is not allowed"),
            ("growth.csv", 2, "weight_kg", "is not a number"),
            ("doses.csv", 2, "slot", "use one of morning, afternoon, evening"),
            ("labs.csv", 2, "value", "cannot be negative"),
            ("labs.csv", 4, "uln", "upper limit of normal for ALT"),
            ("steroids.csv", 5, "dose_number", "without gaps"),
            ("diary.csv", 2, "daily_score", "does not match the item scores (9)"),
            ("prescriptions.csv", 2, "start_date", "before the child's date of birth"),
            ("diary.csv", 4, "date", "cannot be in the future"),
        ],
    )
    # HX-002's rows are not checked against a child that was refused.
    assert not any(p.message.startswith("Unknown child") for p in report.problems)
    assert not Child.objects.filter(reference__startswith="HX").exists()


def test_semicolons_and_decimal_commas_from_a_french_spreadsheet(world, example):
    rewrite(
        example / "growth.csv",
        lambda rows: [[c.replace(".", ",") for c in row] for row in rows],
    )
    text = (example / "growth.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    (example / "growth.csv").write_text(
        "\n".join(";".join(row) for row in rows) + "\n", encoding="utf-8-sig"
    )
    report = run(example, world.north, world.carol)
    assert report.ok, report.problems
    assert GrowthMeasurement.objects.get(
        child__reference="HX-001", date=date(2024, 2, 28)
    ).weight_kg == Decimal("17.4")


def test_unknown_files_and_zips_are_explained(world, tmp_path):
    (tmp_path / "diaries.csv").write_text("child_ref,date\n", encoding="utf-8")
    report = run(tmp_path, world.north, world.carol)
    assert [(p.file, p.row) for p in report.problems] == [("diaries.csv", None)]
    assert "children.csv" in report.problems[0].message
    (tmp_path / "fake.zip").write_text("not a zip", encoding="utf-8")
    with pytest.raises(SourceError):
        source_from_path(tmp_path / "fake.zip")


# --- The export's memory stays bounded ------------------------------------------------------


def test_export_memory_does_not_grow_with_the_rows(world):
    child = world.amy
    child.reference = "N-1"
    child.save()

    def add_days(n):
        DiaryEntry.objects.all().delete()
        first = child.today() - timedelta(days=n)
        DiaryEntry.objects.bulk_create(
            DiaryEntry(
                child=child,
                date=first + timedelta(days=i),
                instrument_key="ags",
                instrument_version=1,
                scores={"irritability": 1, "crying": 2},
                score=3.0,
                note="x" * 200,
            )
            for i in range(n)
        )

    def peak(n):
        add_days(n)
        children = Child.objects.filter(pk=child.pk)
        tracemalloc.start()
        total = 0
        for block in stream_zip(children, about={}):
            total += len(block)
        _current, highest = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return highest, total

    small, _ = peak(2000)
    large, size = peak(8000)
    assert large < small * 1.5 + 512 * 1024, (small, large)
    assert size > 0


def test_an_unreadable_childrens_file_does_not_make_every_child_unknown(world, example):
    set_cell(example / "children.csv", 1, "first_name", "firstname")
    report = run(example, world.north, world.carol)
    assert [(p.file, p.row, p.column) for p in report.problems] == [
        ("children.csv", 1, "firstname"),
        ("children.csv", 1, "first_name"),
    ]
    assert counts()["DiaryEntry"] == 0
