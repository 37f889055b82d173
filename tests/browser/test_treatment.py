"""A clinician adds an escalation with the guidance and warning beside it, then sets the
optimal-dose date and sees the phases update."""

from datetime import date, timedelta

import pytest

from diary.models import GrowthMeasurement, Prescription
from outcomes.labs import record_lab
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD, prescribe, record_fbc

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_escalation_warning_and_phases(world, phone, live_server):
    amy = world.amy
    today = amy.today()
    GrowthMeasurement.objects.create(
        child=amy, date=today - timedelta(days=60), weight_kg=22, height_cm=120
    )
    record_lab(amy, world.carol, "creatinine", today - timedelta(days=50), 30, "µmol/L")
    record_fbc(amy, world.carol, today - timedelta(days=61))  # §6.3's baseline bloods
    prescribe(amy, morning=4, evening=2, start=today - timedelta(days=60))
    sign_in(phone, live_server.url, "carol", PASSWORD)
    phone.goto(f"{live_server.url}/children/{amy.pk}/treatment/")
    assert phone.get_by_text("still in dose escalation").is_visible()
    phone.get_by_role("link", name="Add a dose change").click()
    guidance = phone.locator("#guidance")
    assert "SPARN JAKi guideline §6.3" in guidance.inner_text()
    assert "Escalation" in guidance.inner_text()
    # Above the guideline: 6 + 6 = 12 mg/day for a 22 kg child (maximum 8).
    phone.get_by_label("Start date").fill((today - timedelta(days=20)).isoformat())
    phone.get_by_label("Morning (mg)").fill("6")
    phone.get_by_label("Evening (mg)").fill("6")
    phone.get_by_role("button", name="Save prescription").click()
    phone.locator("#cautions").wait_for()
    assert "above the guideline's maximum of 8 mg/day" in phone.locator("#cautions").inner_text()
    screenshot(phone, "prescription-warning-390")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert Prescription.objects.count() == 1
    # Back to the guideline's escalation dose.
    phone.get_by_label("Evening (mg)").fill("4")
    phone.get_by_label("Morning (mg)").fill("4")
    phone.get_by_role("button", name="Save prescription").click()
    phone.get_by_text("Prescription saved.").wait_for()
    assert Prescription.objects.count() == 2
    # Neither dose has run 90 days unchanged: still escalating.
    assert phone.get_by_text("still in dose escalation").is_visible()
    optimal = today - timedelta(days=10)
    phone.get_by_label("Optimal dose reached on").fill(optimal.isoformat())
    phone.get_by_role("button", name="Save markers").click()
    phone.get_by_text("Markers saved: the phases are recomputed.").wait_for()
    rows = phone.locator("#phases tbody tr")
    assert "empty" in rows.nth(2).inner_text()  # phase 3
    assert f"{optimal.day} {optimal:%b %Y}" in rows.nth(3).inner_text()  # phase 4 from marker
    assert "now" in rows.nth(3).inner_text()
    screenshot(phone, "treatment-phases-390")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    amy.refresh_from_db()
    assert amy.optimal_dose_date == optimal
    assert date.today() >= optimal
