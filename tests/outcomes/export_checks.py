"""What every anonymised export the tests make must satisfy, checked from its bytes alone."""

import csv
import hashlib
import io
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass

FILES = {
    "children.csv",
    "diary.csv",
    "doses.csv",
    "steroids.csv",
    "growth.csv",
    "labs.csv",
    "assessments.csv",
    "phases.csv",
    "data_dictionary.csv",
    "manifest.json",
}
# Every column of children.csv but the pseudonym and the shifted day 0: k children share them.
QUASI = (
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
BOM = "\ufeff".encode()
PSEUDONYM = re.compile(r"^[0-9a-f]{16}$")


@dataclass
class Export:
    raw: bytes
    members: dict[str, bytes]  # decompressed
    tables: dict[str, list[dict]]
    manifest: dict

    def children(self) -> set[str]:
        return {row["child"] for row in self.tables["children.csv"]}

    def everything(self) -> list[bytes]:
        """The zip as stored and every file in it decompressed: where a leak could hide."""
        return [self.raw, *self.members.values()]


def read(data: bytes) -> Export:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    tables = {
        name: list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
        for name, content in members.items()
        if name.endswith(".csv")
    }
    return Export(data, members, tables, json.loads(members["manifest.json"]))


def check(data: bytes, k: int | None = None) -> Export:
    """Parse the export and assert its invariants: the files, their checksums and row counts,
    the data dictionary covering every column, k-anonymity of the children, and no child in
    any file who is not in children.csv."""
    export = read(data)
    assert set(export.members) == FILES
    for name, content in export.members.items():
        if name.endswith(".csv"):
            assert content.startswith(BOM), f"{name}: no byte-order mark for spreadsheets"
    manifest = export.manifest
    k = k or manifest["k"]
    assert manifest["k"] == k
    for name, facts in manifest["files"].items():
        content = export.members[name]
        assert hashlib.sha256(content).hexdigest() == facts["sha256"], name
        assert len(content) == facts["bytes"], name
        if "rows" in facts:
            assert len(export.tables[name]) == facts["rows"], name
    assert set(manifest["files"]) == FILES - {"manifest.json"}
    described = Counter(row["file"] for row in export.tables["data_dictionary.csv"])
    for name, content in export.members.items():
        if name.endswith(".csv") and name != "data_dictionary.csv":
            header = next(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
            in_dictionary = [
                row["variable"]
                for row in export.tables["data_dictionary.csv"]
                if row["file"] == name
            ]
            assert header == in_dictionary, name
            assert described[name] == len(header)
    for row in export.tables["data_dictionary.csv"]:
        assert row["label"] and row["type"], row
    assert_k_anonymous(export, k)
    children = export.children()
    assert len(children) == len(export.tables["children.csv"]), "a child appears twice"
    assert all(PSEUDONYM.match(c) for c in children)
    for name, rows in export.tables.items():
        if name not in ("children.csv", "data_dictionary.csv"):
            assert {row["child"] for row in rows} <= children, f"{name}: a child not released"
    counts = manifest["children"]
    assert counts["exported"] == len(children)
    assert counts["exported"] == counts["exported_whole"] + sum(counts["generalised"].values())
    held = counts["held_back"]
    if counts["eligible"] != "suppressed":
        assert counts["eligible"] == counts["exported"] + sum(held.values())
    else:
        assert "suppressed" in held.values()
    assert (
        set(manifest["quasi_identifiers"])
        == set(export.tables["children.csv"][0])
        - {
            "child",
            "day0_date",
        }
        if children
        else True
    )
    for cells in (held, manifest["children_by_site"], manifest["children_by_disease_group"]):
        assert_no_small_cell(cells)
    for cells in (manifest["children_by_site"], manifest["children_by_disease_group"]):
        assert_not_derivable(cells, counts["exported"])
    return export


def assert_k_anonymous(export: Export, k: int) -> None:
    classes = Counter(tuple(row[q] for q in QUASI) for row in export.tables["children.csv"])
    small = {c: n for c, n in classes.items() if n < k}
    assert not small, f"classes smaller than k={k}: {small}"


def assert_no_small_cell(cells: dict) -> None:
    for value in cells.values():
        assert value == "suppressed" or value == 0 or value >= 5, "an aggregate of 1–4 children"


def assert_not_derivable(cells: dict, total: int) -> None:
    """With the total known, a single suppressed cell is the total minus the others; two or
    more that hold fewer than 10 between them pin a small count down."""
    hidden = [name for name, value in cells.items() if value == "suppressed"]
    if hidden:
        assert len(hidden) >= 2, f"one suppressed cell beside its total: {cells}"
        shown = sum(value for value in cells.values() if value != "suppressed")
        assert total - shown >= 10, f"suppressed cells hold {total - shown}: {cells}"
