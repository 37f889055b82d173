"""With the demo data: the demo parent downloads their child's data, the demo clinician checks
and imports the example file and downloads the site's export."""

import csv
import hashlib
import io
import re
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command

from diary.models import Child, DataTransfer, DiaryEntry
from tests.browser.conftest import AXE, axe_violations, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "import_example"


@pytest.fixture
def demo(settings, capsys):
    """seed_demo's accounts, signed in with the password it prints."""
    settings.DEMO_PASSWORD = ""
    call_command("seed_demo", cohort=0)
    printed = capsys.readouterr().out
    assert "demo-parent" in printed and "demo-clinician" in printed
    return re.search(r"password: (\S+)\)", printed).group(1)


def csv_rows(archive: zipfile.ZipFile, name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_demo_parent_downloads_their_childs_data(demo, phone, live_server, tmp_path):
    sign_in(phone, live_server.url, "demo-parent", demo)
    phone.get_by_role("link", name="Amira", exact=True).click()
    button = phone.get_by_role("button", name="Download Amira’s data (zip)")
    button.scroll_into_view_if_needed()
    screenshot(phone, "child-data-download-390")
    assert no_sideways_scroll(phone)
    with phone.expect_download() as info:
        button.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert info.value.suggested_filename.startswith("ags-diary-amira-")
    amira = Child.objects.get(reference="N-001")
    with zipfile.ZipFile(path) as archive:
        children = csv_rows(archive, "children.csv")
        diary = csv_rows(archive, "diary.csv")
        doses = csv_rows(archive, "doses.csv")
        everything = b"".join(archive.read(name) for name in archive.namelist())
        assert "data_dictionary.csv" in archive.namelist()
    assert [(c["child_ref"], c["first_name"]) for c in children] == [("N-001", "Amira")]
    assert len(diary) == DiaryEntry.objects.filter(child=amira).count() > 100
    assert {row["child_ref"] for row in diary + doses} == {"N-001"}
    assert b"Noah" not in everything  # the other demo family
    log = DataTransfer.objects.get(kind="family_download")
    assert log.child == amira and log.finished is not None and len(log.sha256) == 64


def test_demo_clinician_imports_the_example_and_exports_the_site(
    demo, phone, live_server, tmp_path
):
    archive = tmp_path / "import_example.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(EXAMPLE.glob("*.csv")):
            out.write(path, path.name)
    sign_in(phone, live_server.url, "demo-clinician", demo)
    phone.get_by_role("link", name="Data export and import (north)").click()
    phone.get_by_role("link", name="Import files").click()
    phone.get_by_label("Files to import").set_input_files(str(archive))
    phone.get_by_role("button", name="Check only").click()
    phone.locator("#import-check").wait_for()
    assert "diary.csv: 16 new" in phone.locator("#import-check").inner_text()
    assert not Child.objects.filter(reference="HX-001").exists()
    # A spoilt copy: the problems are listed, nothing is stored.
    spoilt = tmp_path / "diary.csv"
    spoilt.write_text(
        (EXAMPLE / "diary.csv")
        .read_text(encoding="utf-8")
        .replace("HX-001,2024-03-03", "HX-001,3/3/24"),
        encoding="utf-8",
    )
    phone.get_by_label("Files to import").set_input_files(str(spoilt))
    phone.get_by_role("button", name="Import", exact=True).click()
    problems = phone.locator("#import-problems")
    problems.wait_for()
    assert "diary.csv 2 date" in " ".join(problems.inner_text().split())
    screenshot(phone, "import-problems-390")
    assert no_sideways_scroll(phone)
    if AXE.exists():
        assert axe_violations(phone) == []
    phone.get_by_label("Files to import").set_input_files(str(archive))
    phone.get_by_role("button", name="Import", exact=True).click()
    phone.get_by_text("Imported: children.csv: 2 new").wait_for()
    zoe = Child.objects.get(reference="HX-001", site__code="north")
    entry = DiaryEntry.objects.filter(child=zoe).first()
    assert entry.history.get().history_user.username == "demo-clinician"
    assert "Import" in phone.locator("#transfers").inner_text()
    screenshot(phone, "site-data-390")
    assert no_sideways_scroll(phone)
    if AXE.exists():
        found = axe_violations(phone)
        assert found == [], [(v["id"], [n["html"] for n in v["nodes"]]) for v in found]
    with phone.expect_download() as info:
        phone.get_by_role("button", name="Download the site's data (zip)").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    with zipfile.ZipFile(path) as exported:
        refs = {row["child_ref"] for row in csv_rows(exported, "children.csv")}
    assert {"N-001", "HX-001", "HX-002"} <= refs
    log = DataTransfer.objects.get(kind="site_export")
    assert log.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
