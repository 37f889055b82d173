"""Failures of the moving parts: a worker killed in the middle of the reminder sweep, and a
broker that is down while families save their diary."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from http.cookiejar import CookieJar
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

import pytest
from django.conf import settings
from django.utils import timezone

from diary.models import CareLink, DiaryEntry
from outcomes import reminders
from outcomes.models import LabResult, Reminder, ReminderKind, ReminderStatus
from tests.conftest import AGS_ANSWERS, make_user, prescribe
from tests.integration.conftest import ROOT, database_url, wait_for
from tests.integration.test_reminder_delivery import due_today

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_killed_mid_sweep_and_restarted_sends_each_reminder_once(world, smtp, workers):
    child, first = due_today(world, language="en")
    parents = [first] + [make_user(f"parent-{n}", test_reminders=True) for n in range(3)]
    for parent in parents[1:]:
        CareLink.objects.create(caregiver=parent, child=child, relationship="other")
    # The second email is held open before the server accepts it, so the worker dies with
    # one email sent, one claimed and in flight, and two still queued.
    handler, port = smtp(hold_at=1)
    assert reminders.sweep() == 4
    (worker,) = workers(1, port)
    assert handler.holding.wait(60), "the worker never reached the second email"
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    handler.release.set()
    assert len(handler.messages) == 1
    statuses = Counter(Reminder.objects.values_list("status", "attempts"))
    assert statuses == {
        (ReminderStatus.SENT, 1): 1,
        (ReminderStatus.CLAIMED, 1): 1,  # in flight when the worker died
        (ReminderStatus.CLAIMED, 0): 2,  # queued: held by the queue's lease, never tried
    }

    # The claim's lease runs out (10 minutes, made to pass here), then beat sweeps again.
    Reminder.objects.filter(status=ReminderStatus.CLAIMED).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert reminders.sweep() == 3
    workers(1, port)
    assert wait_for(
        lambda: not Reminder.objects.exclude(status=ReminderStatus.SENT).exists(), 90
    ), "not every reminder was sent after the restart"
    time.sleep(3)  # give a second copy every chance to arrive
    received = Counter(rcpt for recipients, _content in handler.messages for rcpt in recipients)
    assert received == {parent.email: 1 for parent in parents}


@pytest.fixture
def web_without_broker(tmp_path):
    """The app served by gunicorn on the test database, its broker a port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{closed_port}/0",
        "VAR_DIR": str(settings.VAR_DIR),
        "EMAIL_URL": "memory://",
    }
    log = tmp_path / "web.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    assert wait_for(up, 60), log.read_text()[-3000:]
    yield base, log
    server.terminate()
    server.wait(timeout=15)


class Browser:
    """Plain HTTP with USER's session (made by the test client) and the CSRF cookie."""

    def __init__(self, base: str, user, client):
        client.force_login(user)
        self.base = base
        self.cookies = {settings.SESSION_COOKIE_NAME: client.session.session_key}
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()))

    def _open(self, path: str, data: bytes | None = None):
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        request = Request(  # noqa: S310 - http to the test server
            self.base + path, data=data, headers={"Cookie": cookie, "Referer": self.base + path}
        )
        response = self.opener.open(request, timeout=60)
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _sep, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response

    def post_form(self, path: str, fields: dict) -> tuple[int, str, float]:
        """(status, final path, seconds) of submitting the form of PATH with FIELDS."""
        page = self._open(path).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urlencode({**fields, "csrfmiddlewaretoken": token}).encode()
        started = time.monotonic()
        response = self._open(path, body)
        return response.status, response.url.removeprefix(self.base), time.monotonic() - started


def test_a_broker_that_is_down_loses_no_diary_entry(world, client, web_without_broker):
    base, log = web_without_broker
    prescribe(world.amy)
    browser = Browser(base, world.alice, client)
    day = world.amy.today()
    status, landed, took = browser.post_form(
        f"/children/{world.amy.pk}/diary/",
        {
            "date": day.isoformat(),
            "entry_id": "6a0c9e9e-4b7c-4c43-9d43-3d1f0c7f1a01",
            "entry_version": "0",
            "note": "saved while the broker was down",
            "all_given": "on",
            **{f"item-{key}": str(score) for key, score in AGS_ANSWERS.items()},
        },
    )
    assert (status, landed) == (200, f"/children/{world.amy.pk}/diary/?date={day}&saved=1")
    assert took < 10
    assert DiaryEntry.objects.get(child=world.amy).note == "saved while the broker was down"

    # A result beyond a stop threshold queues an email to the clinicians through the broker.
    status, landed, took = browser.post_form(
        f"/children/{world.amy.pk}/labs/new/",
        {"sample_date": day.isoformat(), "neutrophils": "0.3", "neutrophils_unit": "×10⁹/L"},
    )
    assert (status, landed) == (200, f"/children/{world.amy.pk}/labs/") and took < 10
    assert LabResult.objects.filter(child=world.amy, analyte="neutrophils").exists()
    alerts = Reminder.objects.filter(kind=ReminderKind.THRESHOLD)
    assert alerts.exists() and set(alerts.values_list("status", flat=True)) == {"pending"}
    assert "broker unavailable" in log.read_text()  # it was tried, failed and waited
