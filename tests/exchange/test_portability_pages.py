"""The family's download, the site export and the import page: who may use them, and what they
give."""

import csv
import hashlib
import io
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse
from django.urls import reverse

from diary import recording
from diary.models import Child, DataTransfer, DiaryEntry
from outcomes.labs import record_lab
from tests.conftest import AGS_ANSWERS, login

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "import_example"


def example_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(EXAMPLE.glob("*.csv")):
            archive.write(path, path.name)
    return out.getvalue()


def unzip(response) -> dict[str, str]:
    assert isinstance(response, StreamingHttpResponse)
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name).decode("utf-8-sig") for name in archive.namelist()}


def rows(files: dict[str, str], name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(files[name])))


@pytest.fixture
def recorded(world):
    """A day, a lab result and a distinctive note for each family."""
    for child, user, note in (
        (world.amy, world.alice, "AMY-NOTE"),
        (world.ben, world.bob, "BEN-NOTE"),
    ):
        day = child.today() - timedelta(days=1)
        answers = AGS_ANSWERS if child == world.amy else {"fever": 1, "rash": 2}
        data = {"scores": answers, "note": note}
        recording.record(DiaryEntry, child, user, uuid.uuid4(), day, data)
        record_lab(child, user, "hb", day, "11.2", "g/dL")
    return world


def test_a_caregiver_downloads_their_childs_data_and_no_one_elses(recorded, client):
    world = recorded
    login(client, world.alice)
    page = client.get(reverse("child_detail", args=[world.amy.pk])).content.decode()
    assert reverse("child_download", args=[world.amy.pk]) in page
    response = client.post(reverse("child_download", args=[world.amy.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert (
        "attachment" in response["Content-Disposition"] and "amy" in response["Content-Disposition"]
    )
    files = unzip(response)
    everything = "".join(files.values())
    children = rows(files, "children.csv")
    assert [(c["first_name"], c["last_name"]) for c in children] == [("Amy", "Test")]
    diary = rows(files, "diary.csv")
    assert len(diary) == 1 and diary[0]["note"] == "AMY-NOTE" and diary[0]["daily_score"] == "5"
    assert diary[0]["reported_by"] == "Alice"
    assert rows(files, "labs.csv")[0]["value"] == "11.2"
    assert "data_dictionary.csv" in files and "manifest.json" in files
    assert "BEN-NOTE" not in everything and "Ben" not in everything
    log = DataTransfer.objects.get()
    assert (log.kind, log.user, log.child, log.site) == (
        "family_download",
        world.alice,
        world.amy,
        world.north,
    )
    assert log.finished is not None and log.row_counts["diary"] == 1


@pytest.mark.parametrize("stranger", ["bob", "dan", "rita"])
def test_a_stranger_gets_404_for_a_childs_download(recorded, client, stranger):
    login(client, getattr(recorded, stranger))
    url = reverse("child_download", args=[recorded.amy.pk])
    assert client.post(url).status_code == 404
    assert client.get(url).status_code == 404
    assert not DataTransfer.objects.exists()


def test_anonymous_download_goes_to_sign_in(recorded, client):
    response = client.post(reverse("child_download", args=[recorded.amy.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_clinician_exports_the_site_logged_with_its_checksum(recorded, client):
    world = recorded
    world.amy.reference = "N-7"
    world.amy.save()
    login(client, world.carol)
    page = client.get(reverse("site_data", args=["north"])).content.decode()
    assert Child.objects.filter(site=world.north).count() == 1
    assert "One child's identifiable data" in page
    response = client.post(reverse("site_export", args=["north"]))
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        children = list(
            csv.DictReader(io.StringIO(archive.read("children.csv").decode("utf-8-sig")))
        )
        diary = archive.read("diary.csv").decode("utf-8-sig")
    assert [c["child_ref"] for c in children] == ["N-7"]
    assert "AMY-NOTE" in diary and "BEN-NOTE" not in diary
    log = DataTransfer.objects.get()
    assert (log.kind, log.user, log.site) == ("site_export", world.carol, world.north)
    assert log.sha256 == hashlib.sha256(data).hexdigest() and log.size == len(data)
    assert log.row_counts == {
        "children": 1,
        "prescriptions": 0,
        "steroid_prescriptions": 0,
        "growth": 0,
        "diary": 1,
        "doses": 0,
        "steroids": 0,
        "labs": 1,
        "medicines": 0,
        "assessments": 0,
    }
    page = client.get(reverse("site_data", args=["north"])).content.decode()
    assert log.sha256[:10] in page and "Site export for clinical audit" in page


def test_children_without_a_reference_are_named_and_left_out(recorded, client):
    login(client, recorded.carol)
    page = client.get(reverse("site_data", args=["north"])).content.decode()
    assert "have no site reference" in page and "Amy Test" in page
    files = unzip(client.post(reverse("site_export", args=["north"])))
    assert rows(files, "children.csv") == [] and rows(files, "diary.csv") == []


@pytest.mark.parametrize("who", ["dan", "alice", "bob", "rita"])
def test_only_the_sites_clinicians_export_or_import(recorded, client, who):
    login(client, getattr(recorded, who))
    upload = SimpleUploadedFile("example.zip", example_zip(), "application/zip")
    for method, name, data in [
        ("get", "site_data", None),
        ("post", "site_export", None),
        ("get", "site_export", None),
        ("get", "site_import", None),
        ("post", "site_import", {"files": upload, "action": "import"}),
    ]:
        response = getattr(client, method)(reverse(name, args=["north"]), data or {})
        assert response.status_code == 404, (who, name, method)
    assert not Child.objects.filter(reference__startswith="HX").exists()
    assert not DataTransfer.objects.exists()


def test_the_upload_page_checks_then_imports(world, client):
    login(client, world.carol)
    url = reverse("site_import", args=["north"])
    assert client.get(url).status_code == 200
    upload = SimpleUploadedFile("example.zip", example_zip(), "application/zip")
    response = client.post(url, {"files": upload, "action": "check"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Every row is valid" in page and "diary.csv: 16 new" in page
    assert not DiaryEntry.objects.exists()
    upload = SimpleUploadedFile("example.zip", example_zip(), "application/zip")
    response = client.post(url, {"files": upload, "action": "import"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("site_data", args=["north"])
    assert "Imported: children.csv: 2 new" in response.content.decode()
    entry = DiaryEntry.objects.filter(child__reference="HX-001").first()
    assert entry.reported_by == world.carol
    assert entry.history.get().history_user == world.carol
    log = DataTransfer.objects.get(kind="import")
    assert log.user == world.carol and log.file_name == "example.zip"


def test_the_upload_page_takes_csv_files_and_lists_problems(world, client):
    login(client, world.carol)
    url = reverse("site_import", args=["north"])
    children = SimpleUploadedFile("children.csv", (EXAMPLE / "children.csv").read_bytes())
    growth = (
        (EXAMPLE / "growth.csv").read_text(encoding="utf-8").replace("2024-03-12", "12/03/2024")
    )
    files = [children, SimpleUploadedFile("growth.csv", growth.encode())]
    response = client.post(url, {"files": files, "action": "import"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "One problem: nothing was imported" in page
    assert "<td>growth.csv</td><td>3</td><td>date</td>" in page
    assert "is not a date" in page
    assert not Child.objects.filter(reference__startswith="HX").exists()
    files = [
        SimpleUploadedFile("children.csv", (EXAMPLE / "children.csv").read_bytes()),
        SimpleUploadedFile("growth.csv", (EXAMPLE / "growth.csv").read_bytes()),
    ]
    response = client.post(url, {"files": files, "action": "import"})
    assert response.status_code == 302
    assert Child.objects.filter(reference__startswith="HX").count() == 2


def test_a_broken_zip_is_explained(world, client):
    login(client, world.carol)
    upload = SimpleUploadedFile("old.zip", b"not a zip")
    response = client.post(reverse("site_import", args=["north"]), {"files": upload})
    assert response.status_code == 400
    assert "old.zip is not a zip file." in response.content.decode()


def test_home_links_clinicians_to_their_sites_data(world, client):
    login(client, world.carol)
    assert reverse("site_data", args=["north"]) in client.get("/").content.decode()
    login(client, world.alice)
    assert "/data/" not in client.get("/").content.decode()
