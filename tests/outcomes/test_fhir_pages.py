"""The pages around FHIR: the "FHIR (JSON)" button beside the family download, the labs page's
upload of hospital results (clinicians only), its problems shown, nothing stored."""

import json
import re
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile

from outcomes.models import LabResult
from tests.conftest import prescribe
from tests.outcomes.test_fhir_import import bundle, observation


def upload(client, child, body: bytes, name="results.json"):
    return client.post(
        f"/children/{child.pk}/labs/fhir/",
        {"bundle": SimpleUploadedFile(name, body, content_type="application/fhir+json")},
    )


def test_fhir_button_beside_the_family_download(world, client_for):
    page = client_for(world.alice).get(f"/children/{world.amy.pk}/").content.decode()
    section = page[page.index('id="your-data"') :]
    section = section[: section.index("</section>")]
    # One row of actions: the zip's button, then the FHIR link to the export.
    actions = re.search(r'<div class="actions">(.*?)</div>', section, re.S).group(1)
    assert actions.index("data (zip)") < actions.index("FHIR (JSON)")
    assert f'href="/api/children/{world.amy.pk}/fhir/" download' in actions


def test_fhir_button_in_french(world, client_for):
    world.alice.language = "fr"
    world.alice.save()
    page = client_for(world.alice).get(f"/children/{world.amy.pk}/").content.decode()
    assert "FHIR (JSON)" in page and "format qu’échangent les systèmes hospitaliers" in page


def test_labs_page_offers_the_upload_to_clinicians_only(world, client_for):
    assert (
        'id="fhir-import"'
        in client_for(world.carol).get(f"/children/{world.amy.pk}/labs/").content.decode()
    )
    assert (
        'id="fhir-import"'
        not in client_for(world.alice).get(f"/children/{world.amy.pk}/labs/").content.decode()
    )


def test_upload_stores_the_results(world, client_for):
    prescribe(world.amy, start=world.amy.today() - timedelta(days=30))
    day = world.amy.today() - timedelta(days=1)
    body = json.dumps(bundle(observation("718-7", 7.5, "g/dL", day, "H1"))).encode()
    client = client_for(world.carol)
    response = upload(client, world.amy, body)
    assert response.status_code == 302 and response["Location"] == f"/children/{world.amy.pk}/labs/"
    result = LabResult.objects.get(child=world.amy)
    assert result.flags.get().code == "bari-low-hb"
    page = client.get(response["Location"]).content.decode()
    assert "Hospital results imported: 1 new, 0 already stored." in page
    assert upload(client, world.amy, body).status_code == 302
    assert LabResult.objects.count() == 1


def test_upload_lists_problems_and_stores_nothing(world, client_for):
    day = world.amy.today() - timedelta(days=1)
    body = json.dumps(
        bundle(observation("718-7", 11, "g/dL", day), observation("718-7", 11, "furlongs", day))
    ).encode()
    response = upload(client_for(world.carol), world.amy, body)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Entry 1: Unknown unit furlongs" in page
    assert not LabResult.objects.exists()


def test_upload_of_a_broken_file(world, client_for):
    response = upload(client_for(world.carol), world.amy, b"\x89PNG not json")
    assert response.status_code == 400
    assert "could not be read" in response.content.decode()
    assert not LabResult.objects.exists()


def test_upload_too_large(world, client_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = upload(client_for(world.carol), world.amy, b"{" + b" " * 200 + b"}")
    assert response.status_code == 400 and "too large" in response.content.decode()


def test_upload_refused_to_parents_and_strangers(world, client_for, client):
    body = b"{}"
    assert upload(client_for(world.alice), world.amy, body).status_code == 403
    client.logout()
    assert upload(client_for(world.dan), world.amy, body).status_code == 404
    assert not LabResult.objects.exists()
