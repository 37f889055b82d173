"""Notifications in the browser: the reminders page turns them on, the service worker shows a
pushed reminder (delivered through the DevTools protocol, as a push service would) and a tap
opens the page it names."""

import json
from datetime import time

import pytest

from outcomes import reminders
from outcomes.models import Reminder
from tests.browser.conftest import PHONE, axe_violations, screenshot, sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def notified(chromium, live_server):
    """A phone-sized page allowed to show notifications, and a DevTools session on it."""
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.grant_permissions(["notifications"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    refused = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield context, page
    context.close()
    assert refused == [], f"blocked by the Content-Security-Policy: {refused}"


def registration_id(page, cdp, scope: str) -> str:
    """The service worker registration of SCOPE, as DevTools names it (it says so in an event
    soon after the domain is enabled)."""
    found = {}
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: found.update(
            {r["scopeURL"]: r["registrationId"] for r in event["registrations"]}
        ),
    )
    cdp.send("ServiceWorker.enable")
    for _ in range(100):
        if scope in found:
            return found[scope]
        page.wait_for_timeout(100)
    raise AssertionError(f"no registration for {scope}: {found}")


def notifications(page) -> list:
    return page.evaluate(
        "navigator.serviceWorker.ready.then(r => r.getNotifications())"
        ".then(ns => ns.map(n => ({title: n.title, body: n.body, tag: n.tag, data: n.data})))"
    )


def test_a_pushed_reminder_is_shown_and_a_tap_opens_the_diary(world, notified, live_server):
    context, page = notified
    world.alice.diary_reminder_time = time(0, 0)
    world.alice.save()
    sign_in(page, live_server.url, "alice", PASSWORD)
    page.goto(f"{live_server.url}/account/reminders/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    # The active worker controls the next page load for sure (clients.claim can lag on a busy
    # machine), as on a phone's next visit.
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
    page.get_by_text("Notifications are off on this device.").wait_for()
    turn_on = page.get_by_role("button", name="Turn on notifications on this device")
    assert turn_on.is_visible()

    # Subscribing needs the browser vendor's push service, out of reach here: the page says
    # it could not, and nothing is kept.
    turn_on.click()
    page.wait_for_function(
        "() => /could not be turned on|are on on this device/.test("
        "document.getElementById('push-state').textContent)",
        timeout=60_000,
    )
    state = page.locator("#push-state").inner_text()
    screenshot(page, "reminders-notifications-390")
    assert axe_violations(page) == []

    # The reminder a worker would push, delivered to the service worker as a push service does.
    reminders.sweep()
    row = Reminder.objects.get()
    payload = reminders.push_payload(row, world.amy.today())
    cdp = context.new_cdp_session(page)
    scope = f"{live_server.url}/"
    rid = registration_id(page, cdp, scope)
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server.url, "registrationId": rid, "data": json.dumps(payload)},
    )
    page.wait_for_function(
        "() => navigator.serviceWorker.ready.then(r => r.getNotifications())"
        ".then(ns => ns.length === 1)"
    )
    # The same message again (a retried push) replaces it: still one.
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server.url, "registrationId": rid, "data": json.dumps(payload)},
    )
    page.wait_for_timeout(500)
    (shown,) = notifications(page)
    assert shown == {
        "title": "Diary for Amy",
        "body": "Today's diary for Amy is not filled in yet.",
        "tag": f"reminder-{row.pk}",
        "data": {"url": payload["url"]},
    }

    # A tap: the notificationclick handler's work (headless Chromium cannot tap a system
    # notification), run in the worker: this window goes to the diary of that day.
    worker = next(w for w in context.service_workers if w.url.endswith("/sw.js"))
    opened = worker.evaluate(
        "url => openPage(url).then(client => client && client.url)", shown["data"]["url"]
    )
    page.wait_for_url(f"{live_server.url}{payload['url']}")
    assert opened == f"{live_server.url}{payload['url']}"
    page.get_by_role("heading", level=1).wait_for()

    # A payload naming another site is never opened: the diary's home instead.
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": live_server.url,
            "registrationId": rid,
            "data": json.dumps({"title": "x", "body": "y", "url": "https://evil.example.org/"}),
        },
    )
    page.wait_for_function(
        "() => navigator.serviceWorker.ready.then(r => r.getNotifications())"
        ".then(ns => ns.some(n => n.title === 'x'))"
    )
    odd = next(n for n in notifications(page) if n["title"] == "x")
    assert odd["data"] == {"url": "/"}
    print(f"pushManager.subscribe in this Chromium: {state!r}")
