"""The clinician's dashboard, a child's timeline and the cohort chart, in a real browser."""

from datetime import timedelta

import pytest

from tests.browser.conftest import AXE, axe_violations, screenshot, sign_in
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


def test_a_parents_phone_shows_the_last_90_days_readably_without_sideways_scrolling(
    world, phone, live_server
):
    import re

    with_history(world.amy, days=300)
    sign_in(phone, live_server.url, "alice", PASSWORD)
    phone.goto(f"{live_server.url}/children/{world.amy.pk}/")
    chart = "#timeline-chart"
    phone.wait_for_function(f"() => document.querySelector('{chart}').complete")
    assert image_loaded(phone, chart)
    source = phone.eval_on_selector(chart, "img => img.currentSrc")
    assert "/chart-phone.svg?v=" in source  # the page chose the phone's chart
    shown = phone.eval_on_selector(chart, "img => img.getBoundingClientRect().width")
    assert 320 <= shown <= 390
    # Readable: the smallest text, as shown at that width, is at least 12 CSS pixels.
    svg = phone.request.get(source).text()
    assert "90" in svg and "doses" in svg
    width_px = float(re.search(r'<svg [^>]*width="([\d.]+)pt"', svg).group(1)) * 4 / 3
    smallest_pt = min(float(s) for s in re.findall(r"font-size: ?([\d.]+)px", svg))
    assert smallest_pt * 4 / 3 * shown / width_px >= 12
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(phone, "child-phone-chart-390")
    if AXE.exists():
        found = axe_violations(phone)
        assert found == [], [(v["id"], [n["html"][:200] for n in v["nodes"]]) for v in found]
    # A tablet gets the whole course.
    phone.set_viewport_size({"width": 1024, "height": 900})
    phone.reload()
    phone.wait_for_function(f"() => document.querySelector('{chart}').complete")
    assert "/chart.svg?v=" in phone.eval_on_selector(chart, "img => img.currentSrc")
    assert phone.eval_on_selector(chart, "img => img.getBoundingClientRect().width") > 700
    screenshot(phone, "child-course-1024")
