"""A clinician enters a blood panel, sees the guideline flag and acknowledges it; the parent
sees the next test due. In a real browser, with the accessibility check."""

from datetime import timedelta

import pytest

from outcomes.models import LabFlag, LabResult
from tests.browser.conftest import AXE, axe_violations, screenshot, sign_in
from tests.conftest import PASSWORD, prescribe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def assert_accessible(page) -> None:
    if not AXE.exists():
        pytest.skip("axe-core is not installed: npm ci --prefix tests/browser")
    found = axe_violations(page)
    assert found == [], [(v["id"], [n["html"][:120] for n in v["nodes"]]) for v in found]


def test_clinician_enters_a_panel_and_acknowledges_its_flag(world, phone, live_server):
    amy = world.amy
    prescribe(amy, start=amy.today() - timedelta(days=10))
    sign_in(phone, live_server.url, "carol", PASSWORD)
    phone.goto(f"{live_server.url}/children/{amy.pk}/labs/")
    phone.get_by_text("Next blood test due").wait_for()
    assert_accessible(phone)
    phone.get_by_role("link", name="Add results").click()
    phone.get_by_label("Sample date").fill(amy.today().isoformat())
    phone.locator("input[name=hb]").fill("75")
    phone.locator("select[name=hb_unit]").select_option("g/L")
    phone.locator("input[name=neutrophils]").fill("2.5")
    phone.get_by_role("button", name="Save results").click()
    flags = phone.locator("#flags")
    flags.wait_for()
    text = flags.inner_text()
    assert "Hb below 8 g/dL" in text and "§6.7" in text
    assert LabResult.objects.get(analyte="hb").value == 7.5  # g/L converted to g/dL
    screenshot(phone, "labs-flag-390")
    assert_accessible(phone)
    phone.get_by_role("button", name="acknowledge").first.click()
    phone.get_by_text("Flag acknowledged").wait_for()
    assert not LabFlag.objects.open().exists()
    # The week 2 bloods are due in 4 days: the parent sees when.
    phone.context.clear_cookies()
    sign_in(phone, live_server.url, "alice", PASSWORD)
    phone.goto(f"{live_server.url}/children/{amy.pk}/labs/")
    assert "Next blood test due" in phone.locator("main").inner_text()
    assert "acknowledge" not in phone.locator("main").inner_text()
