"""At phone width, the demo parent finds "FHIR (JSON)" beside the family download and gets a
Bundle that validates resource by resource."""

import json

import pytest

from diary.models import Child, DataTransfer
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_portability import demo, no_sideways_scroll  # noqa: F401 (fixture)
from tests.outcomes.fhir_checks import validate_bundle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_fhir_button_at_phone_width(demo, phone, live_server, tmp_path):  # noqa: F811
    phone.set_viewport_size({"width": 320, "height": 640})
    sign_in(phone, live_server.url, "demo-parent", demo)
    phone.get_by_role("link", name="Amira", exact=True).click()
    zip_button = phone.get_by_role("button", name="Download Amira’s data (zip)")
    fhir = phone.get_by_role("link", name="FHIR (JSON)")
    fhir.scroll_into_view_if_needed()
    screenshot(phone, "child-data-fhir-320")
    assert no_sideways_scroll(phone)
    zip_box, fhir_box = zip_button.bounding_box(), fhir.bounding_box()
    # Beside or just below the zip's button, whole on the screen, a thumb's height.
    assert fhir_box["x"] >= 0 and fhir_box["x"] + fhir_box["width"] <= 320
    assert 0 <= fhir_box["y"] - zip_box["y"] <= zip_box["height"] + 16
    assert fhir_box["height"] >= 40
    with phone.expect_download() as info:
        fhir.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert info.value.suggested_filename.endswith(".fhir.json")
    bundle = json.loads(path.read_text())
    counts = validate_bundle(bundle)
    assert counts["Patient"] == 1 and counts["QuestionnaireResponse"] > 100
    [patient] = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    assert any(i["value"] == "N-001" for i in patient["identifier"])
    amira = Child.objects.get(reference="N-001")
    assert DataTransfer.objects.get(kind="fhir_export").child == amira
