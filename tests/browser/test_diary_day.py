"""The five ways a day used to be lost or misfiled on a phone, each now saved whole, once, on the
right day, or not at all, with the parent told which (390×844, Debian Chromium)."""

import uuid
from datetime import timedelta

import pytest

from diary.models import CareLink, DiaryEntry, DoseAdministration, GrowthMeasurement
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import AGS_ANSWERS, PASSWORD, make_user, prescribe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ONES = {key: 1 for key in AGS_ANSWERS}
TWOS = {key: 2 for key in AGS_ANSWERS}


@pytest.fixture
def treated(world):
    prescribe(world.amy, morning=2, evening=2, start=world.amy.today() - timedelta(days=90))
    return world


def url(live_server, world, day=None, page="diary/"):
    base = f"{live_server.url}/children/{world.amy.pk}/{page}"
    return f"{base}?date={day.isoformat()}" if day else base


def answer(page, answers):
    for key, score in answers.items():
        page.locator(f"label[for=item-{key}-{score}]").click()


def save(page):
    page.get_by_role("button", name="Save", exact=True).click()


def go_offline_ready(page, live_server, world):
    """Open the diary online twice (the second time through the worker), until the phone keeps
    the empty day page for this child."""
    page.goto(url(live_server, world))
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    shell = f"/children/{world.amy.pk}/diary/offline/"
    page.wait_for_function(
        """async (shell) => {
            const keys = (await caches.keys()).filter((k) => k.startsWith('ags-'));
            for (const k of keys) { if (await (await caches.open(k)).match(shell)) return true; }
            return false;
        }""",
        arg=shell,
    )


# The browser's offline switch can let the first request after it through (it reached the
# server while the page saw a network error), so the page's own fetch refuses the API as well
# while the test says there is no signal: what is sent offline never arrives.
# "Answers lost": the day reaches the server and its answer never comes back. Done in the page's
# fetch too: a request the service worker passes on can escape Playwright's routing.
NO_SIGNAL = """(() => {
  const real = window.fetch;
  window.fetch = function (input, init) {
    const url = String((input && input.url) || input);
    if (localStorage.getItem("test-no-signal") === "1" && url.includes("/api/")) {
      return Promise.reject(new TypeError("Failed to fetch"));
    }
    if (localStorage.getItem("test-answers-lost") === "1" && url.includes("/api/days/")) {
      return real.apply(this, arguments).then(() => {
        throw new TypeError("Failed to fetch");
      });
    }
    return real.apply(this, arguments);
  };
})();"""


def signal_guard(page):
    if not getattr(page.context, "no_signal_guard", False):
        page.context.add_init_script(NO_SIGNAL)
        page.context.no_signal_guard = True
        page.evaluate(NO_SIGNAL)  # the page already open


def offline(page):
    signal_guard(page)
    page.evaluate("localStorage.setItem('test-no-signal', '1')")
    page.context.set_offline(True)


def online(page):
    page.context.set_offline(False)
    page.evaluate(
        "localStorage.removeItem('test-no-signal'); localStorage.removeItem('test-answers-lost')"
    )


def answers_lost(page):
    """A signal that drops mid-request: the day reaches the server, its answer never comes."""
    signal_guard(page)
    page.evaluate("localStorage.setItem('test-answers-lost', '1')")


def saved_offline(page, live_server, world, days_ago: int, answers: dict):
    """Signed in, the diary kept on the phone, then offline: that day answered and saved."""
    sign_in(page, live_server.url, "alice", PASSWORD)
    go_offline_ready(page, live_server, world)
    offline(page)
    day = world.amy.today() - timedelta(days=days_ago)
    page.goto(url(live_server, world, day))
    answer(page, answers)
    save(page)
    page.get_by_text("Saved on this phone").wait_for()
    return day


def back_online(page):
    online(page)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_function("() => localStorage.getItem('ags-diary-queue') === '[]'")


def checked(page) -> dict:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('input[type=radio]:checked')]
            .filter((r) => r.name.startsWith('item-')).map((r) => [r.name.slice(5), +r.value]))"""
    )


def test_offline_another_day_is_that_day_never_todays_copy(treated, phone, live_server):
    world = treated
    sign_in(phone, live_server.url, "alice", PASSWORD)
    go_offline_ready(phone, live_server, world)
    phone.get_by_role("button", name="No symptoms today").click()
    phone.locator("#saved").wait_for()
    today_entry = DiaryEntry.objects.get()
    phone.get_by_role("link", name="Past days").click()
    offline(phone)
    day = world.amy.today() - timedelta(days=2)
    phone.get_by_role("link", name=f"{day:%A} {day.day} {day:%B}").click()
    phone.wait_for_url(f"**?date={day.isoformat()}")
    assert f"{day:%A} {day.day} {day:%B %Y}" in phone.locator("#dayline").inner_text()
    assert "Today" not in phone.locator("#dayline").inner_text()
    assert checked(phone) == {}  # not today's "no symptoms" answers
    assert phone.locator("input[name=entry_version]").input_value() == "0"
    answer(phone, TWOS)
    save(phone)
    phone.get_by_text("Saved on this phone").wait_for()
    screenshot(phone, "diary-offline-past-day-390")
    back_online(phone)
    assert DiaryEntry.objects.get(date=day).scores == TWOS
    today_entry.refresh_from_db()
    assert today_entry.no_symptoms and today_entry.version == 1 and today_entry.score == 0
    # A day never opened online opens too, empty, instead of the browser's offline error.
    offline(phone)
    never = world.amy.today() - timedelta(days=9)
    phone.goto(url(live_server, world, never))
    assert f"{never.day} {never:%B %Y}" in phone.locator("#dayline").inner_text()
    assert checked(phone) == {}
    # Beyond the last 30 days the phone says so instead of recording.
    phone.goto(url(live_server, world, world.amy.today() - timedelta(days=45)))
    phone.get_by_text("only the last 30 days can be recorded").wait_for()
    assert phone.get_by_role("button", name="Save", exact=True).is_disabled()


def test_a_correction_made_offline_after_a_reload_is_what_arrives(treated, phone, live_server):
    world = treated
    day = saved_offline(phone, live_server, world, 3, ONES)
    phone.reload()
    # The phone shows what it keeps for this day, not an empty or another day's page.
    phone.get_by_text("Not sent yet").wait_for()
    assert checked(phone) == ONES
    answer(phone, TWOS)
    save(phone)
    phone.get_by_text("Saved on this phone").wait_for()
    queue = phone.evaluate("JSON.parse(localStorage.getItem('ags-diary-queue'))")
    assert len(queue) == 1 and queue[0]["body"]["entry"]["scores"] == TWOS
    back_online(phone)
    entry = DiaryEntry.objects.get()
    assert entry.date == day and entry.scores == TWOS and entry.version == 1
    phone.get_by_text("Sent ✓").wait_for()
    assert f"Amy, {day:%A} {day.day} {day:%B}" in phone.locator("#sync-status").inner_text()


def test_a_bad_weight_stores_nothing_and_says_so(treated, phone, live_server):
    world = treated
    sign_in(phone, live_server.url, "alice", PASSWORD)
    phone.goto(url(live_server, world))
    saves = []
    phone.on("request", lambda r: saves.append(r.url) if r.method == "POST" else None)
    answer(phone, AGS_ANSWERS)
    phone.get_by_text("All doses given as prescribed").click()
    phone.locator("summary", has_text="Weight and height").click()
    phone.locator("#weight_kg").fill("0")
    save(phone)
    phone.get_by_text("Nothing was saved.").wait_for()
    assert phone.get_by_text("Enter a value between").is_visible()
    assert DiaryEntry.objects.count() == DoseAdministration.objects.count() == 0
    assert GrowthMeasurement.objects.count() == 0
    # The answers are still there to correct; one request saves the whole day.
    assert checked(phone) == AGS_ANSWERS
    saves.clear()
    phone.locator("#weight_kg").fill("17,5")
    save(phone)
    phone.locator("#saved").wait_for()
    assert [u for u in saves if "/api/" in u] == [f"{live_server.url}/api/days/"]
    assert DiaryEntry.objects.count() == 1 and DoseAdministration.objects.count() == 2
    assert str(GrowthMeasurement.objects.get().weight_kg) == "17.50"


def test_reentering_a_saved_day_offline_twice_sends_the_last_answers(treated, phone, live_server):
    world = treated
    day = world.amy.today() - timedelta(days=1)
    sign_in(phone, live_server.url, "alice", PASSWORD)
    go_offline_ready(phone, live_server, world)
    phone.goto(url(live_server, world, day))
    answer(phone, AGS_ANSWERS)
    phone.get_by_text("All doses given as prescribed").click()
    save(phone)
    phone.locator("#saved").wait_for()
    offline(phone)
    phone.goto(url(live_server, world, day))
    # Offline, the day is shown as last saved, with its versions.
    assert checked(phone) == AGS_ANSWERS
    assert phone.locator("input[name=entry_version]").input_value() == "1"
    answer(phone, {"sleep": 3})
    save(phone)
    phone.get_by_text("Saved on this phone").wait_for()
    phone.goto(url(live_server, world, day))
    answer(phone, {"sleep": 2, "crying": 3})
    save(phone)
    phone.get_by_text("Saved on this phone").wait_for()
    assert "matches the given query" not in phone.content()
    back_online(phone)
    entry = DiaryEntry.objects.get()
    assert entry.version == 2 and entry.scores == {**AGS_ANSWERS, "sleep": 2, "crying": 3}
    assert DoseAdministration.objects.filter(date=day, status="given").count() == 2
    assert "matches the given query" not in phone.content()


def test_no_symptoms_all_doses_given_is_one_tap_and_doses_later_keep_it(
    treated, phone, live_server
):
    world = treated
    sign_in(phone, live_server.url, "alice", PASSWORD)
    phone.goto(url(live_server, world))
    button = phone.get_by_role("button", name="No symptoms, all doses given")
    assert button.bounding_box()["y"] < 844  # on the first screen
    button.click()
    phone.locator("#saved").wait_for()
    entry = DiaryEntry.objects.get()
    assert entry.no_symptoms and entry.score == 0
    assert DoseAdministration.objects.filter(status="given").count() == 2
    # Recording a missed dose later leaves "no symptoms" as the parent said it.
    phone.locator("summary", has_text="A dose was missed or different").click()
    phone.locator("label[for=dose-baricitinib-evening-missed]").click()
    with phone.expect_navigation():
        save(phone)
    phone.locator("#saved").wait_for()
    entry.refresh_from_db()
    assert entry.no_symptoms and entry.version == 1
    assert DoseAdministration.objects.get(slot="evening").status == "missed"
    assert [h.no_symptoms for h in entry.history.all()] == [True]


def test_a_conflict_found_at_sync_shows_both_and_keeps_the_phones_copy(treated, phone, live_server):
    world = treated
    grandma = make_user("grandma", first_name="Grandma")
    CareLink.objects.create(caregiver=grandma, child=world.amy, relationship="grandparent")
    day = world.amy.today() - timedelta(days=1)
    sign_in(phone, live_server.url, "alice", PASSWORD)
    go_offline_ready(phone, live_server, world)
    phone.goto(url(live_server, world, day))
    answer(phone, AGS_ANSWERS)
    save(phone)
    phone.locator("#saved").wait_for()
    offline(phone)
    phone.goto(url(live_server, world, day))
    answer(phone, {"sleep": 3})
    save(phone)
    phone.get_by_text("Saved on this phone").wait_for()
    # Meanwhile Grandma corrects the same day on her phone.
    entry = DiaryEntry.objects.get()
    entry.scores = {**AGS_ANSWERS, "crying": 3}
    entry.version = 2
    entry.reported_by = grandma
    entry.save()
    online(phone)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    phone.get_by_text("Someone else saved this day while you were editing").wait_for()
    table = phone.locator("#phone-conflict table").inner_text()
    assert "Sleep" in table or "sleep" in table.lower()
    screenshot(phone, "diary-sync-conflict-390")
    entry.refresh_from_db()
    assert entry.scores["crying"] == 3 and entry.scores["sleep"] == 1  # nothing overwritten
    # The phone keeps its copy until the parent chooses.
    phone.reload()
    phone.get_by_text("Someone else saved this day while you were editing").wait_for()
    assert checked(phone)["sleep"] == 3
    phone.get_by_role("button", name="Send mine instead").click()
    phone.locator("#saved").wait_for()
    entry.refresh_from_db()
    assert entry.scores["sleep"] == 3 and entry.version == 3


def test_a_day_refused_at_sync_is_explained_in_the_parents_words(treated, phone, live_server):
    world = treated
    sign_in(phone, live_server.url, "alice", PASSWORD)
    go_offline_ready(phone, live_server, world)
    offline(phone)
    day = world.amy.today() - timedelta(days=4)
    phone.goto(url(live_server, world, day))
    answer(phone, AGS_ANSWERS)
    phone.locator("summary", has_text="Weight and height").click()
    phone.locator("#weight_kg").fill("900")
    save(phone)
    phone.get_by_text("Saved on this phone").wait_for()
    online(phone)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    status = phone.locator("#sync-status")
    status.get_by_text("Could not be sent").wait_for()
    assert "Enter a value between" in status.inner_text()
    assert "{" not in status.inner_text() and "Error" not in status.inner_text()
    assert DiaryEntry.objects.count() == 0
    status.get_by_role("link", name="Open").click()
    assert checked(phone) == AGS_ANSWERS
    assert phone.locator("#weight_kg").input_value() == "900"


def test_an_odd_queue_from_another_tab_does_not_break_the_page(treated, phone, live_server):
    """An item of the page's previous version (one call per row) is sent as one day."""
    world = treated
    sign_in(phone, live_server.url, "alice", PASSWORD)
    phone.goto(url(live_server, world, world.amy.today() - timedelta(days=6)))
    day = (world.amy.today() - timedelta(days=5)).isoformat()
    old = [
        {
            "key": str(uuid.uuid4()),
            "page": f"/children/{world.amy.pk}/diary/",
            "date": day,
            "calls": [
                {
                    "method": "POST",
                    "url": "/api/entries/",
                    "body": {
                        "id": str(uuid.uuid4()),
                        "child": world.amy.pk,
                        "date": day,
                        "scores": AGS_ANSWERS,
                    },
                }
            ],
            "form": [],
            "problem": None,
            "label": "Amy, " + day,
        }
    ]
    phone.evaluate("q => localStorage.setItem('ags-diary-queue', JSON.stringify(q))", old)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    phone.wait_for_function("() => localStorage.getItem('ags-diary-queue') === '[]'")
    assert DiaryEntry.objects.get().date.isoformat() == day


def test_a_day_kept_while_signed_out_is_sent_after_signing_in_again(treated, phone, live_server):
    world = treated
    day = saved_offline(phone, live_server, world, 2, AGS_ANSWERS)
    # The session ends while the phone is offline (cookies gone, as after a long night).
    phone.context.clear_cookies()
    online(phone)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    phone.locator("#sync-status").get_by_text("sign in again to send it").wait_for()
    assert DiaryEntry.objects.count() == 0
    sign_in(phone, live_server.url, "alice", PASSWORD)
    phone.goto(url(live_server, world, world.amy.today()))
    phone.wait_for_function("() => localStorage.getItem('ags-diary-queue') === '[]'")
    assert DiaryEntry.objects.get().date == day


def test_seizure_details_are_asked_beside_a_seizure_and_saved_offline_too(
    treated, phone, live_server
):
    world = treated
    sign_in(phone, live_server.url, "alice", PASSWORD)
    go_offline_ready(phone, live_server, world)
    details = phone.locator("#seizure-details")
    assert details.is_hidden()
    answer(phone, {**AGS_ANSWERS, "seizures": 2})
    assert details.is_visible()
    phone.locator("#seizure_count").fill("3")
    phone.locator("#seizure_longest_min").fill("4,5")
    phone.locator("label[for=seizure_rescue-yes]").click()
    with phone.expect_navigation():
        save(phone)
    entry = DiaryEntry.objects.get()
    assert (entry.seizure_count, str(entry.seizure_longest_min), entry.seizure_rescue) == (
        3,
        "4.5",
        True,
    )
    # Offline, on another day: the same details travel in the queued day.
    offline(phone)
    day = world.amy.today() - timedelta(days=1)
    phone.goto(url(live_server, world, day))
    assert details.is_hidden()
    answer(phone, {**AGS_ANSWERS, "seizures": 1})
    phone.locator("#seizure_count").fill("1")
    phone.locator("label[for=seizure_rescue-no]").click()
    save(phone)
    phone.get_by_text("Saved on this phone").wait_for()
    back_online(phone)
    other = DiaryEntry.objects.get(date=day)
    assert (other.seizure_count, other.seizure_longest_min, other.seizure_rescue) == (
        1,
        None,
        False,
    )


def test_a_send_that_arrived_without_its_answer_is_corrected_not_a_conflict(
    treated, phone, live_server
):
    """The signal drops after the server stored the day but before the phone heard back; the
    parent then corrects the day on the phone. The correction arrives, as a change of that row."""
    world = treated
    sign_in(phone, live_server.url, "alice", PASSWORD)
    go_offline_ready(phone, live_server, world)
    day = world.amy.today() - timedelta(days=3)
    phone.goto(url(live_server, world, day))
    answers_lost(phone)
    answer(phone, ONES)
    save(phone)
    phone.get_by_text("Saved on this phone").wait_for()
    assert DiaryEntry.objects.get().scores == ONES  # it arrived; the phone could not know
    offline(phone)
    phone.reload()
    answer(phone, TWOS)
    save(phone)
    phone.get_by_text("Saved on this phone").wait_for()
    back_online(phone)
    entry = DiaryEntry.objects.get()
    assert entry.scores == TWOS and entry.version == 2
    assert phone.locator("#phone-conflict").count() == 0
    # Somebody else's change in between is still a conflict, never overwritten.
    offline(phone)
    phone.goto(url(live_server, world, day))
    answer(phone, ONES)
    save(phone)
    phone.get_by_text("Saved on this phone").wait_for()
    entry.scores = {**TWOS, "crying": 0}
    entry.version = 3
    entry.reported_by = world.carol
    entry.save()
    online(phone)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    phone.get_by_text("Someone else saved this day while you were editing").wait_for()
    entry.refresh_from_db()
    assert entry.scores["crying"] == 0


def test_a_change_that_arrived_without_its_answer_is_corrected_not_a_conflict(
    treated, phone, live_server
):
    """As above, for a change of a day saved before: the lost change raised the version, and the
    phone's next edit still names the old one."""
    world = treated
    day = world.amy.today() - timedelta(days=1)
    sign_in(phone, live_server.url, "alice", PASSWORD)
    go_offline_ready(phone, live_server, world)
    phone.goto(url(live_server, world, day))
    answer(phone, AGS_ANSWERS)
    with phone.expect_navigation():
        save(phone)
    answers_lost(phone)
    phone.goto(url(live_server, world, day))
    answer(phone, {"sleep": 3})
    save(phone)
    phone.get_by_text("Saved on this phone").wait_for()
    assert DiaryEntry.objects.get().version == 2  # it arrived; the phone could not know
    offline(phone)
    phone.goto(url(live_server, world, day))
    answer(phone, {"crying": 3})
    save(phone)
    phone.get_by_text("Saved on this phone").wait_for()
    back_online(phone)
    entry = DiaryEntry.objects.get()
    assert entry.version == 3 and entry.scores == {**AGS_ANSWERS, "sleep": 3, "crying": 3}
    assert phone.locator("#phone-conflict").count() == 0


def test_shingles_ticked_offline_arrives_with_the_day_and_flags_it(treated, phone, live_server):
    from outcomes.models import LabFlag

    world = treated
    sign_in(phone, live_server.url, "alice", PASSWORD)
    go_offline_ready(phone, live_server, world)
    offline(phone)
    day = world.amy.today() - timedelta(days=1)
    phone.goto(url(live_server, world, day))
    toggle, label = phone.locator("#zoster"), phone.locator("label[for=zoster]")
    assert not toggle.is_checked()
    box = label.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["height"] >= 44
    answer(phone, AGS_ANSWERS)
    label.click()
    assert toggle.is_checked()
    save(phone)
    phone.get_by_text("Saved on this phone").wait_for()
    queue = phone.evaluate("JSON.parse(localStorage.getItem('ags-diary-queue'))")
    assert queue[0]["body"]["entry"]["zoster"] is True and not DiaryEntry.objects.exists()
    back_online(phone)
    entry = DiaryEntry.objects.get()
    assert (entry.date, entry.zoster, entry.illness) == (day, True, False)
    assert entry.scores == AGS_ANSWERS and entry.reported_by == world.alice
    flag = LabFlag.objects.get(child=world.amy, code="zoster")
    assert flag.day == day and flag.source == "SPARN JAKi guideline §7.3"
    # Offline again, the phone shows the day as the server stored it: shingles ticked.
    offline(phone)
    phone.goto(url(live_server, world, day))
    assert phone.locator("#zoster").is_checked()
    assert phone.locator("input[name=entry_version]").input_value() == "1"
    screenshot(phone, "diary-day-shingles")
