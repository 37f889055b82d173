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
    "phases.csv",
    "data_dictionary.csv",
    "manifest.json",
}
QUASI = ("age_band", "sex", "genotype", "disease_group", "country", "region")
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
    assert counts["eligible"] == counts["exported"] + counts["suppressed"] + counts["without_data"]
    for cells in (manifest["children_by_site"], manifest["children_by_disease_group"]):
        for value in cells.values():
            assert value == "<5" or value >= 5, "an aggregate cell of 1–4 children"
    return export


def assert_k_anonymous(export: Export, k: int) -> None:
    classes = Counter(tuple(row[q] for q in QUASI) for row in export.tables["children.csv"])
    small = {c: n for c, n in classes.items() if n < k}
    assert not small, f"classes smaller than k={k}: {small}"
