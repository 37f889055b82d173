"""Real parts: Celery workers as separate processes on the configured broker (Redis in CI's
PostgreSQL run, the file-system broker otherwise), the test database, and an SMTP server."""

import os
import socket
import subprocess
import sys
import time
import zoneinfo
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection
from django.utils import timezone

from diary.models import CareLink
from outcomes import reminders
from outcomes.models import Reminder, ReminderStatus
from tests.conftest import make_child, make_user, prescribe

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    """An SMTP server's message handler that can say "try later" a few times first."""

    def __init__(self, refuse_first: int = 0):
        self.refuse_first = refuse_first
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.refuse_first:
            self.refuse_first -= 1
            return "451 4.3.0 Try again later"
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    servers = []

    def start(refuse_first: int = 0) -> tuple[Recorder, int]:
        handler = Recorder(refuse_first)
        with socket.socket() as probe:  # a free port on loopback
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        servers.append(controller)
        return handler, port

    yield start
    for controller in servers:
        controller.stop()


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def workers(tmp_path):
    started = []

    def start(count: int, smtp_port: int) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "VAR_DIR": str(settings.VAR_DIR),
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        for n in range(count):
            log = tmp_path / f"worker{n}.log"
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "--app",
                    "config",
                    "worker",
                    "--pool",
                    "solo",
                    "--loglevel",
                    "INFO",
                    "--hostname",
                    f"test{n}-{os.getpid()}@%h",
                    "--without-mingle",
                    "--without-gossip",
                ],
                cwd=ROOT,
                env=env,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
            )
            started.append((process, log))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all("ready" in log.read_text() for _p, log in started):
                return
            if any(p.poll() is not None for p, _log in started):
                break
            time.sleep(0.3)
        raise AssertionError(
            "workers did not start:\n" + "\n".join(log.read_text()[-2000:] for _p, log in started)
        )

    yield start
    for process, _log in started:
        process.terminate()
    for process, _log in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def due_today(world, language="fr"):
    """A caregiver opted in, and a child whose week-2 bloods are due today, after 9 am locally."""
    now = timezone.now()
    zone = next(
        z
        for z in (
            "Pacific/Kiritimati",
            "Asia/Tokyo",
            "Asia/Kolkata",
            "Europe/Paris",
            "America/New_York",
            "Pacific/Honolulu",
        )
        if 9 <= now.astimezone(zoneinfo.ZoneInfo(z)).hour <= 22
    )
    child = make_child(world.north, "Zoé", timezone=zone)
    prescribe(child, start=child.today() - timedelta(weeks=2))
    parent = make_user("parent-zoe", first_name="Lou", language=language, test_reminders=True)
    CareLink.objects.create(caregiver=parent, child=child, relationship="mother")
    return child, parent


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_two_sweeps_and_two_workers_send_one_email(world, smtp, workers):
    child, parent = due_today(world)
    handler, port = smtp()
    assert reminders.sweep() == 1
    assert reminders.sweep() == 1  # beat ran twice: the same row is queued twice
    workers(2, port)
    assert wait_for(lambda: handler.messages, 60), "no email arrived"
    assert wait_for(lambda: Reminder.objects.get().status == ReminderStatus.SENT, 20)
    time.sleep(3)  # give a second email every chance to arrive
    assert len(handler.messages) == 1
    recipients, content = handler.messages[0]
    message = message_from_bytes(content)
    assert recipients == [parent.email]
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject == "Une prise de sang pour Zoé est prévue aujourd’hui"
    assert "/unsubscribe/" in message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert Reminder.objects.count() == 1


def test_a_refusing_smtp_server_is_retried_until_it_accepts(world, smtp, workers):
    _child, parent = due_today(world, language="en")
    handler, port = smtp(refuse_first=1)
    reminders.sweep()
    workers(1, port)
    assert wait_for(lambda: handler.messages, 60), "the retry never delivered"
    assert wait_for(lambda: Reminder.objects.get().status == ReminderStatus.SENT, 20)
    reminder = Reminder.objects.get()
    assert reminder.attempts == 2 and len(handler.messages) == 1
    assert handler.messages[0][0] == [parent.email]
