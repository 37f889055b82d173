"""Real parts under faults: a mail server that is down for a while, addresses it refuses for
good, and a broker that refuses the sweep's tasks (aiosmtpd, Celery workers as processes on the
configured broker, the test database)."""

import os
import re
import subprocess
import sys
import time
from collections import Counter

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.core import mail

from diary.models import CareLink, Prescription
from outcomes import reminders, tasks
from outcomes.models import Reminder, ReminderKind, ReminderStatus, ReminderSweep
from tests.conftest import make_child, make_user, prescribe
from tests.integration.conftest import ROOT, Recorder, database_url, free_port, wait_for
from tests.integration.test_reminder_delivery import due_today


def many_due_today(world, count: int) -> list:
    """COUNT caregivers of one child whose week-2 bloods are due today (after 9 am locally)."""
    child, first = due_today(world, language="en")
    parents = [first]
    for n in range(count - 1):
        parent = make_user(f"carer-{n}", test_reminders=True)
        CareLink.objects.create(caregiver=parent, child=child, relationship="other")
        parents.append(parent)
    return parents


def received(logs, name: str) -> int:
    return sum(
        len(re.findall(rf"Task outcomes\.tasks\.{name}\[[^\]]+\] received", log.read_text()))
        for log in logs
    )


@pytest.mark.django_db(transaction=True)
def test_a_mail_server_down_for_a_while_costs_at_most_two_tasks_an_email(
    world, workers, tmp_path, monkeypatch
):
    """The server is down when the worker starts and comes back 20 s later, while beat sweeps
    every 2 s: one batch task and its retries carry every email, the sweeps queue nothing
    that a retry holds, and each email arrives once."""
    from config.celery import app

    parents = many_due_today(world, 12)
    port = free_port()  # nothing listens: the mail server is down
    monkeypatch.setenv("REMINDER_RETRY_SECONDS", "2")
    monkeypatch.setenv("REMINDER_SWEEP_ON_START", "0")
    app.control.purge()  # nothing left over from an earlier run counts here
    assert reminders.sweep() == 12
    workers(1, port)
    logs = list(tmp_path.glob("worker*.log"))
    started = time.monotonic()
    sweeps = []
    while time.monotonic() - started < 20:
        time.sleep(2)
        sweeps.append(reminders.sweep())
    assert set(sweeps) == {0}, "a sweep queued rows a retry holds"
    assert not Reminder.objects.filter(status=ReminderStatus.SENT).exists()
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert wait_for(
            lambda: Reminder.objects.filter(status=ReminderStatus.SENT).count() == 12, 90
        ), Counter(Reminder.objects.values_list("status", "last_error"))
        time.sleep(3)  # a second copy would have arrived by now
    finally:
        controller.stop()
    copies = Counter(rcpt for recipients, _content in handler.messages for rcpt in recipients)
    assert copies == {parent.email: 1 for parent in parents}
    sends = received(logs, "send_reminders") + received(logs, "send_reminder")
    print(f"SMTP outage: {sends} send tasks for 12 emails, sweeps during it queued {sweeps}")
    assert 1 < sends <= 2 * 12, f"{sends} send tasks for 12 emails"
    # With a 2 s first retry doubling, 20 s of outage take about four retries of one batch.
    assert sends <= 6, f"{sends} send tasks"


@pytest.mark.django_db
def test_a_server_down_stops_the_batch_and_one_task_retries_it(world, settings, monkeypatch):
    """At the first email that cannot reach the server the batch stops; the rest are not
    tried, and every row is held for the one retry (no sweep queues them meanwhile)."""
    parents = many_due_today(world, 5)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    retries = []
    monkeypatch.setattr(
        tasks.send_reminders,
        "apply_async",
        lambda args, countdown: retries.append((args, countdown)),
    )
    reminders.sweep()
    ids = list(Reminder.objects.order_by("pk").values_list("pk", flat=True))
    assert tasks.send_reminders(ids) == 0
    assert len(retries) == 1
    (again, held, round_), countdown = retries[0]
    assert sorted(again) == ids and round_ == 1 and countdown == settings.REMINDER_RETRY_SECONDS
    rows = Reminder.objects.order_by("pk")
    assert [r.attempts for r in rows] == [2, 1, 1, 1, 1]  # one tried, four only held
    assert all(r.status == ReminderStatus.CLAIMED for r in rows)
    assert reminders.queue_pending()[1] == 0
    # The server is back: the retry sends each once, with the claims it holds.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert tasks.send_reminders(again, held, round_) == 5
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in parents)
    assert len(retries) == 1


@pytest.mark.django_db
def test_one_notice_per_refused_address_however_many_emails_were_queued(world, smtp, settings):
    """Alice has three children and wants every reminder: five emails are queued to an address
    the mail server refuses for good. The server is asked once; the site administrator is
    told once; the other four are not even tried."""
    from datetime import time as clock

    handler, port = smtp(refuse={world.alice.email})
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    child, _parent = due_today(world, language="en")
    second = make_child(world.north, "Zed", timezone=child.timezone)
    prescribe(second, start=Prescription.objects.get(child=child).start_date)
    alice = world.alice
    alice.test_reminders, alice.diary_reminder_time = True, clock(0, 0)
    alice.save()
    for kid in (child, second):
        CareLink.objects.get_or_create(caregiver=alice, child=kid, relationship="mother")
    reminders.sweep()
    to_alice = list(Reminder.objects.filter(recipient=alice).values_list("pk", flat=True))
    assert len(to_alice) == 5  # blood tests and diary for two, the diary for Amy
    for pk in to_alice:
        reminders.send_one(pk)
    assert handler.refused == [alice.email]  # asked once
    notices = Reminder.objects.filter(kind=ReminderKind.BOUNCE)
    assert list(notices.values_list("recipient__username", "status")) == [("sam", "sent")]
    told = [m for m in handler.messages if m[0] == [world.sam.email]]
    assert len(told) == 1
    failed = Counter(Reminder.objects.filter(recipient=alice).values_list("status", "last_error"))
    assert failed == {
        (ReminderStatus.FAILED, "refused permanently: [550]"): 1,
        (ReminderStatus.FAILED, "address refused earlier"): 4,
    }


@pytest.mark.django_db(transaction=True)
def test_a_sweep_the_broker_refuses_says_it_queued_nothing_and_why(world):
    """The sweep runs in a process whose broker is a closed port: it returns 0, logs why, and
    the rows wait for the next sweep."""
    due_today(world, language="en")
    environ = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",
        "VAR_DIR": str(settings.VAR_DIR),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    code = "import django; django.setup(); from outcomes import reminders; print(reminders.sweep())"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["0"]
    assert "broker unavailable" in result.stderr
    assert "1 to send, 0 queued" in result.stderr
    assert ReminderSweep.objects.get().note.startswith("broker unavailable")
    assert Reminder.objects.get().status == ReminderStatus.PENDING
