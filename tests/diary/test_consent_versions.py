"""Attack 2: a clinician typed 40 characters into consent_version and they came out in every
research export. The version is now a choice from those the site's administrators define."""

import importlib

from django.urls import reverse

from diary.models import Child, ConsentVersion
from tests.conftest import login
from tests.diary.test_children import FORM

CANARY = "Signed by Mrs Quixotewhistle, 12 Fenn"
migration = importlib.import_module("diary.migrations.0012_consent_versions")


def test_the_child_form_takes_a_version_of_the_site_never_free_text(world, client):
    ConsentVersion.objects.create(site=world.north, label="2.1")
    ConsentVersion.objects.create(site=world.south, label="9.9")  # not North's
    login(client, world.carol)
    form = {**FORM, "site": world.north.pk, "consent_date": "2024-01-01"}
    for typed in (CANARY, "9.9"):
        response = client.post(reverse("child_create"), {**form, "consent_version": typed})
        assert response.status_code == 200
        assert not Child.objects.filter(reference="N-100").exists()
    page = client.get(reverse("child_create")).content.decode()
    assert '<option value="2.1">2.1</option>' in page
    response = client.post(reverse("child_create"), {**form, "consent_version": "2.1"})
    assert response.status_code == 302
    assert Child.objects.get(reference="N-100").consent_version == "2.1"


def test_the_api_takes_a_version_of_the_site_never_free_text(world, api_for):
    ConsentVersion.objects.create(site=world.north, label="2.1")
    api = api_for(world.carol)
    url = f"/api/children/{world.amy.pk}/"
    body = {"consent_version": CANARY, "consent_date": "2024-01-01"}
    response = api.patch(url, body, format="json")
    assert response.status_code == 400 and "2.1" in str(response.json()["consent_version"])
    world.amy.refresh_from_db()
    assert world.amy.consent_version == ""
    response = api.patch(url, {**body, "consent_version": "2.1"}, format="json")
    assert response.status_code == 200, response.content
    world.amy.refresh_from_db()
    assert world.amy.consent_version == "2.1"


def test_site_administrators_define_the_versions(world, client_for):
    url = reverse("site_studies", args=["north"])
    sam = client_for(world.sam)
    sam.post(url, {"action": "consent", "consent-label": "3.0"})
    sam.post(url, {"action": "consent", "consent-label": "free text with spaces"})
    assert list(world.north.consent_versions.values_list("label", flat=True)) == ["3.0"]
    assert "3.0" in sam.get(url).content.decode()
    for user in (world.carol, world.rita, world.alice):
        assert (
            client_for(user).post(url, {"action": "consent", "consent-label": "4"}).status_code
            == 404
        )
    assert ConsentVersion.objects.count() == 1


def test_existing_free_text_becomes_a_version_or_unspecified():
    assert migration.version_label("2.1") == "2.1"
    assert migration.version_label(" v2 ") == "v2"
    assert migration.version_label(CANARY) == "unspecified"
