"""A parent records a day on a phone: taps, past days, offline, conflicts, French, axe-core."""

import gzip
import json
from datetime import timedelta

import pytest
from django.utils import translation

from diary.models import CareLink, DiaryEntry, DoseAdministration
from tests.browser.conftest import ARTIFACTS, AXE, PHONE, axe_violations, screenshot, sign_in
from tests.browser.test_diary_day import offline, online
from tests.conftest import AGS_ANSWERS, PASSWORD, make_user, prescribe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANSWERS = AGS_ANSWERS


@pytest.fixture
def treated(world):
    prescribe(world.amy, afternoon=2)
    return world


class Taps:
    def __init__(self, page):
        self.page, self.count = page, 0

    def __call__(self, locator):
        locator.click()
        self.count += 1


def answer(page, tap, answers=ANSWERS):
    for key, score in answers.items():
        tap(page.locator(f"label[for=item-{key}-{score}]"))


def diary_url(live_server, world, day=None):
    url = f"{live_server.url}/children/{world.amy.pk}/diary/"
    return f"{url}?date={day.isoformat()}" if day else url


def test_record_today_in_at_most_12_taps(treated, phone, live_server):
    world = treated
    sign_in(phone, live_server.url, "alice", PASSWORD)
    phone.goto(diary_url(live_server, world))
    tap = Taps(phone)
    answer(phone, tap)
    tap(phone.get_by_text("All doses given as prescribed"))
    tap(phone.get_by_role("button", name="Save", exact=True))
    phone.locator("#saved").wait_for()
    assert tap.count <= 12, tap.count
    entry = DiaryEntry.objects.get()
    assert entry.date == world.amy.today() and entry.score == 5 and entry.reported_by == world.alice
    assert DoseAdministration.objects.filter(status="given").count() == 3
    assert phone.get_by_role("heading", name="Daily score, last 7 days").is_visible()
    screenshot(phone, "diary-saved-390")


def test_no_symptoms_is_a_single_tap(world, phone, live_server):
    sign_in(phone, live_server.url, "alice", PASSWORD)
    phone.goto(diary_url(live_server, world))
    phone.get_by_role("button", name="No symptoms today").click()
    phone.locator("#saved").wait_for()
    assert DiaryEntry.objects.get().score == 0


def test_record_a_past_day(world, phone, live_server):
    sign_in(phone, live_server.url, "alice", PASSWORD)
    phone.goto(diary_url(live_server, world))
    phone.get_by_role("link", name="Past days").click()
    day = world.amy.today() - timedelta(days=3)
    phone.get_by_role("link", name=f"{day:%A} {day.day} {day:%B}").click()
    assert f"{day:%A} {day.day} {day:%B %Y}" in phone.locator("#dayline").inner_text()
    answer(phone, lambda locator: locator.click())
    phone.get_by_role("button", name="Save", exact=True).click()
    phone.locator("#saved").wait_for()
    assert DiaryEntry.objects.get().date == day


def test_offline_entry_syncs_exactly_once(world, phone, live_server):
    sign_in(phone, live_server.url, "alice", PASSWORD)
    phone.goto(diary_url(live_server, world))
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    phone.reload()  # now served through the worker, which keeps a copy
    phone.wait_for_function("() => navigator.serviceWorker.controller !== null")
    offline(phone)
    phone.reload()  # opens without a signal
    phone.get_by_role("button", name="No symptoms today").wait_for()
    answer(phone, lambda locator: locator.click())
    phone.get_by_role("button", name="Save", exact=True).click()
    phone.get_by_text("Saved on this phone").wait_for()
    assert phone.locator("#sync-status").inner_text().startswith("Waiting to be sent")
    screenshot(phone, "diary-offline-390")
    assert DiaryEntry.objects.count() == 0
    queued = phone.evaluate("localStorage.getItem('ags-diary-queue')")
    online(phone)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    phone.wait_for_function("() => localStorage.getItem('ags-diary-queue') === '[]'")
    phone.get_by_text("Sent ✓").wait_for()
    assert DiaryEntry.objects.count() == 1
    # The same queue sent again (a replay after a lost answer) adds nothing.
    phone.evaluate("q => localStorage.setItem('ags-diary-queue', q)", queued)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    phone.wait_for_function("() => localStorage.getItem('ags-diary-queue') === '[]'")
    assert DiaryEntry.objects.count() == 1
    assert DiaryEntry.objects.get().score == 5


def test_second_caregivers_stale_edit_gets_the_conflict_message(world, chromium, live_server):
    grandma = make_user("grandma", first_name="Grandma")
    CareLink.objects.create(caregiver=grandma, child=world.amy, relationship="grandparent")
    day = world.amy.today()
    pages = []
    for username in ("alice", "grandma"):
        context = chromium.new_context(viewport=PHONE)
        page = context.new_page()
        sign_in(page, live_server.url, username, PASSWORD)
        pages.append(page)
    alice, gran = pages
    alice.goto(diary_url(live_server, world))
    alice.get_by_role("button", name="No symptoms today").click()
    alice.locator("#saved").wait_for()
    # Both open the saved day; Grandma saves first.
    alice.goto(diary_url(live_server, world, day))
    gran.goto(diary_url(live_server, world, day))
    assert "Grandma" not in alice.content()
    gran.locator("label[for=item-crying-2]").click()
    gran.get_by_role("button", name="Save", exact=True).click()
    gran.locator("#saved").wait_for()
    alice.locator("label[for=item-sleep-3]").click()
    alice.get_by_role("button", name="Save", exact=True).click()
    alice.get_by_text("Someone else saved this day while you were editing").wait_for()
    assert alice.get_by_text("Grandma saved it at").is_visible()
    screenshot(alice, "diary-conflict-390")
    entry = DiaryEntry.objects.get()
    assert entry.scores["crying"] == 2 and entry.scores["sleep"] == 0
    for page in pages:
        page.context.close()


def test_french_end_to_end(world, phone, live_server):
    world.alice.language = "fr"
    world.alice.save()
    with translation.override("fr"):
        no_symptoms = translation.gettext("No symptoms today")
        saved = translation.gettext("Saved. Thank you.")
        calm = str(translation.gettext("Calm and content, as usual"))
    assert no_symptoms != "No symptoms today" and calm != "Calm and content, as usual"
    sign_in(phone, live_server.url, "alice", PASSWORD)
    phone.goto(diary_url(live_server, world))
    assert phone.locator("html").get_attribute("lang") == "fr"
    assert phone.get_by_text(calm).first.is_visible()
    phone.get_by_role("button", name=no_symptoms).click()
    phone.get_by_text(saved).wait_for()
    screenshot(phone, "diary-fr-390")
    assert DiaryEntry.objects.get().score == 0
    with translation.override("fr"):
        save = translation.gettext("Save")
        nothing_saved = translation.gettext("Nothing was saved.")
    # A decimal comma is understood…
    phone.locator("#max_temperature").fill("38,6")
    with phone.expect_navigation():
        phone.get_by_role("button", name=save, exact=True).click()
    phone.locator("#saved").wait_for()
    assert str(DiaryEntry.objects.get().max_temperature) == "38.6"
    # … and a mistake is explained in French.
    phone.locator("#max_temperature").fill("50")
    phone.get_by_role("button", name=save, exact=True).click()
    phone.get_by_text(nothing_saved).wait_for()
    assert str(DiaryEntry.objects.get().max_temperature) == "38.6"


def test_axe_finds_no_serious_problem(treated, phone, live_server):
    if not AXE.exists():
        pytest.skip("axe-core is not installed: npm ci --prefix tests/browser")
    world = treated
    sign_in(phone, live_server.url, "alice", PASSWORD)
    pages = {
        "day": diary_url(live_server, world),
        "days": f"{live_server.url}/children/{world.amy.pk}/diary/days/",
        "home": f"{live_server.url}/",
    }
    found = {}
    for name, url in pages.items():
        phone.goto(url)
        found[name] = axe_violations(phone)
    # The page with errors next to fields, too.
    phone.goto(pages["day"])
    phone.locator("#max_temperature").fill("50")
    phone.locator("label[for=item-sleep-1]").click()
    phone.get_by_role("button", name="Save", exact=True).click()
    phone.get_by_text("Nothing was saved").wait_for()
    found["day with errors"] = axe_violations(phone)
    summary = {
        name: [(v["id"], v["impact"], len(v["nodes"])) for v in vs]
        for name, vs in found.items()
        if vs
    }
    assert summary == {}


def test_diary_page_weight(world, chromium, live_server):
    # Without the worker, so that every resource is fetched by the page itself.
    context = chromium.new_context(viewport=PHONE, service_workers="block")
    page = context.new_page()
    hosts = set()
    page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
    sign_in(page, live_server.url, "alice", PASSWORD)
    page.goto(diary_url(live_server, world), wait_until="networkidle")
    urls = [diary_url(live_server, world)] + page.evaluate(
        "performance.getEntriesByType('resource').map(e => e.name)"
    )
    sizes = {}
    for url in urls:
        body = context.request.get(url).body()
        sizes[url.removeprefix(live_server.url)] = len(gzip.compress(body, compresslevel=6))
    total = sum(sizes.values())
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "diary-page-weight.json").write_text(json.dumps({"total": total, **sizes}))
    print(f"diary page, gzip-compressed: {total} bytes {sizes}")
    assert hosts == {live_server.url.split("/")[2]}
    assert {"/static/diary/app.css", "/static/diary/diary.js"} <= set(sizes)
    assert total <= 40 * 1024
    context.close()
