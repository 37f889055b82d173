"""CSV formula injection: a text that a spreadsheet would run is written so that it is shown,
numbers stay numbers, and the import reads back exactly what the family wrote."""

import csv
import dataclasses
import io
import uuid
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from diary import csvsafe, recording
from diary.models import Child, DiaryEntry
from exchange import exporting, tables
from exchange.importing import import_data, parse_cell, source_from_file
from outcomes.labs import record_lab
from outcomes.models import LabResult
from tests.conftest import login

BOM = "\ufeff".encode()
ATTACKS = ['=HYPERLINK("http://x","y")', "+1", "-cmd", "@SUM(A1)", "\tx", "\rx"]
# Texts that already look neutralised, or nearly: they too must come back as they were.
LOOKALIKES = ["'=x", "''-x", "'plain", "'", "plain", "a=b"]


@pytest.mark.parametrize("text", ATTACKS)
def test_a_formula_is_written_as_text(text):
    assert csvsafe.neutralise(text) == "'" + text
    assert csvsafe.restore(csvsafe.neutralise(text)) == text


@pytest.mark.parametrize("text", ATTACKS + LOOKALIKES + ["", "'\t", "''''@x"])
def test_every_text_comes_back_as_it_was(text):
    assert csvsafe.restore(csvsafe.neutralise(text)) == text


def test_only_text_cells_of_a_row_are_touched():
    assert csvsafe.row(["-cmd", -1.5, Decimal("-2"), -3, None]) == ["'-cmd", -1.5, -2, -3, None]


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def table(files: dict[str, bytes], name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(files[name].decode("utf-8-sig"), newline="")))


@pytest.fixture
def poisoned(world):
    """Amy's record with a formula in every kind of text a family or clinician types."""
    amy = world.amy
    amy.reference = "-R1"
    amy.first_name = ATTACKS[0]
    amy.last_name = "+1"
    amy.diagnosis = "OTHER"  # a genotype of any gene
    amy.genotype = "-cmd"
    amy.save()
    world.alice.first_name = "@SUM(A1)"  # written as reported_by
    world.alice.save()
    notes = ATTACKS + LOOKALIKES
    for n, note in enumerate(notes):
        day = amy.today() - timedelta(days=len(notes) - n)
        recording.record(
            DiaryEntry,
            amy,
            world.alice,
            uuid.uuid4(),
            day,
            {"scores": {"fever": 1, "rash": 2}, "note": note},
        )
    record_lab(amy, world.carol, "ifn_score", amy.today(), "12", "score", assay="\tx")
    return world


def assert_neutralised(files: dict[str, bytes]) -> None:
    for name, content in files.items():
        if name.endswith(".csv"):
            assert content.startswith(BOM), f"{name}: no byte-order mark"
    child = table(files, "children.csv")[0]
    assert child["child_ref"] == "'-R1"
    assert child["first_name"] == "'" + ATTACKS[0]
    assert (child["last_name"], child["genotype"]) == ("'+1", "'-cmd")
    diary = table(files, "diary.csv")
    notes = [row["note"] for row in diary]
    assert notes == ["'" + text for text in ATTACKS] + [
        "''=x",
        "'''-x",
        "'plain",
        "'",
        "plain",
        "a=b",
    ]
    assert {row["reported_by"] for row in diary} == {"'@SUM(A1)"}
    assert {row["child_ref"] for row in diary} == {"'-R1"}
    lab = table(files, "labs.csv")[0]
    assert (lab["assay"], lab["value"]) == ("'\tx", "12")
    # No cell of any table starts with a character a spreadsheet would run.
    for name, content in files.items():
        if name.endswith(".csv"):
            for row in csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")):
                assert not any(cell[:1] in csvsafe.TRIGGERS for cell in row if cell), (name, row)


def test_the_family_download_neutralises_formulas(poisoned, client):
    login(client, poisoned.alice)
    response = client.post(reverse("child_download", args=[poisoned.amy.pk]))
    assert response.status_code == 200
    assert_neutralised(members(b"".join(response.streaming_content)))


def test_the_site_export_neutralises_formulas(poisoned, client):
    login(client, poisoned.carol)
    response = client.post(reverse("site_export", args=["north"]))
    assert response.status_code == 200
    assert_neutralised(members(b"".join(response.streaming_content)))


def test_the_import_reads_back_exactly_what_the_family_wrote(poisoned, client):
    login(client, poisoned.alice)
    data = b"".join(
        client.post(reverse("child_download", args=[poisoned.amy.pk])).streaming_content
    )
    report = import_data(
        source_from_file(io.BytesIO(data), "amy.zip"), site=poisoned.south, user=poisoned.dan
    )
    assert report.ok and report.stored, report.problems[:5]
    copy = Child.objects.get(site=poisoned.south, reference="-R1")
    assert (copy.first_name, copy.last_name, copy.genotype) == (ATTACKS[0], "+1", "-cmd")
    notes = list(
        DiaryEntry.objects.filter(child=copy).order_by("date").values_list("note", flat=True)
    )
    assert notes == ATTACKS + LOOKALIKES
    assert LabResult.objects.get(child=copy).assay == "\tx"
    # Imported again where it came from: the same rows, nothing new.
    again = import_data(
        source_from_file(io.BytesIO(data), "amy.zip"), site=poisoned.north, user=poisoned.carol
    )
    assert again.ok and sum(again.created.values()) == 0, again.problems[:5]


def test_numbers_stay_numbers_and_only_text_is_neutralised(world, monkeypatch):
    """A negative number in a number column is written as it is, beside a neutralised text."""
    row = {
        "child_ref": "-R1",
        "sample_date": world.amy.today(),
        "analyte": "ifn_score",
        "value": Decimal("-1.50"),
        "uln": Decimal("-2"),
        "assay": "-1.5",
    }
    labs = dataclasses.replace(tables.LABS, rows=lambda children, names: iter([row]))
    monkeypatch.setattr(exporting, "TABLES", [labs])
    out = io.BytesIO()
    exporting.write_zip(out, Child.objects.filter(pk=world.amy.pk), about={})
    written = table(members(out.getvalue()), "labs.csv")[0]
    assert (written["value"], written["uln"]) == ("-1.5", "-2")
    assert (written["child_ref"], written["assay"]) == ("'-R1", "'-1.5")
    # And the import reads them back as numbers and as the text that was written.
    assert parse_cell(tables.LABS.column("value"), written["value"]) == Decimal("-1.5")
    assert parse_cell(tables.LABS.column("assay"), written["assay"]) == "-1.5"


def test_a_hand_made_file_keeps_its_apostrophes(world):
    """Only an apostrophe before a formula character is the export's own."""
    note = tables.DIARY.column("note")
    assert parse_cell(note, "'it rained'") == "'it rained'"
    assert parse_cell(note, "=1+1") == "=1+1"
    assert parse_cell(note, "'=1+1") == "=1+1"
