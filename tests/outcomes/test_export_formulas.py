"""The research export against CSV formula injection: free text is neutralised, numbers (negative
days too) stay numbers, and every CSV starts with the byte-order mark."""

import csv
import io
from datetime import timedelta

from diary import csvsafe
from diary.models import DiaryEntry
from outcomes.labs import record_lab
from tests.outcomes.test_export import (  # noqa: F401  (fixtures)
    build,
    cohort,
    exact_dates,
    name_of,
    study,
)

ATTACKS = ['=HYPERLINK("http://x","y")', "+1", "-cmd", "@SUM(A1)", "\tx", "\rx"]


def test_free_text_and_consent_version_cannot_run_in_a_spreadsheet(world, study):  # noqa: F811
    children = cohort(world.north, 5, "Kid")
    first = children[0]
    first.consent_version = ATTACKS[0]
    first.save()
    days = list(DiaryEntry.objects.filter(child=first).order_by("date")[: len(ATTACKS) + 1])
    for entry, note in zip(days, [*ATTACKS, "'=x"], strict=True):
        entry.note = note
        entry.save()
    record_lab(
        first,
        world.carol,
        "ifn_score",
        first.today() - timedelta(days=2),
        "12",
        "score",
        assay="-cmd",
    )
    result = build(include_free_text=True)  # checks the byte-order mark of every CSV
    name = name_of(first)
    child = next(r for r in result.tables["children.csv"] if r["child"] == name)
    assert "consent_version" not in child  # no longer exported at all
    assert all(
        b"HYPERLINK" not in content for f, content in result.members.items() if f != "diary.csv"
    )
    notes = [r["note"] for r in result.tables["diary.csv"] if r["child"] == name]
    assert notes[: len(ATTACKS) + 1] == ["'" + text for text in ATTACKS] + ["''=x"]
    lab = next(r for r in result.tables["labs.csv"] if r["child"] == name)
    assert (lab["assay"], float(lab["value"])) == ("'-cmd", 12)
    # Days before day 0 are negative numbers, written as numbers.
    assert min(int(r["day"]) for r in result.tables["diary.csv"]) < 0
    for file, content in result.members.items():
        if file.endswith(".csv"):
            for row in csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")):
                for cell in row:
                    if cell and cell[0] in csvsafe.TRIGGERS:
                        float(cell)  # only a number may start with - or +
