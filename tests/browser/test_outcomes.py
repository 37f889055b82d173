"""The clinician's dashboard, a child's timeline and the cohort chart, in a real browser."""

from datetime import timedelta

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.conftest import PASSWORD, make_child
from tests.outcomes.test_outcome_pages import with_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def image_loaded(page, selector: str) -> bool:
    return page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")


def test_clinician_dashboard_timeline_and_cohort(world, phone, live_server):
    with_history(world.amy, days=300)
    quiet = with_history(make_child(world.north, "Quiet"), days=200, seed=3)
    from diary.models import DiaryEntry

    DiaryEntry.objects.filter(child=quiet, date__gte=quiet.today() - timedelta(days=4)).delete()
    for n in range(3):
        with_history(make_child(world.north, f"Kid{n}"), days=300, seed=10 + n)
    sign_in(phone, live_server.url, "carol", PASSWORD)
    phone.get_by_role("link", name="Dashboard").click()
    phone.get_by_role("heading", name="Who needs attention").wait_for()
    first_row = phone.locator("#dashboard tbody tr").first
    assert "Quiet" in first_row.inner_text() and "no recent entry" in first_row.inner_text()
    screenshot(phone, "dashboard-390")
    phone.get_by_role("link", name="Amy Test").click()
    phone.locator("#phase-summary").wait_for()
    phone.wait_for_function("() => document.querySelector('.course img').complete")
    assert image_loaded(phone, ".course img")
    screenshot(phone, "child-course-390")
    phone.goto(f"{live_server.url}/cohort/")
    phone.wait_for_function("() => document.querySelector('figure img').complete")
    assert image_loaded(phone, "figure img")
    assert "LS mean (95% CI)" in phone.locator("#cohort-table").inner_text()
    screenshot(phone, "cohort-390")
