"""Real parts: Celery workers as separate processes on the configured broker (Redis in CI's
PostgreSQL run, the file-system broker otherwise), the test database, and an SMTP server."""

import time
import zoneinfo
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from django.utils import timezone

from diary.models import CareLink
from outcomes import reminders
from outcomes.models import Reminder, ReminderStatus
from tests.conftest import make_child, make_user, prescribe
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


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


def test_two_sweeps_and_two_workers_send_one_email(world, smtp, workers):
    child, parent = due_today(world)
    handler, port = smtp()
    assert reminders.sweep() == 1
    assert reminders.sweep() == 0  # beat ran twice: the row queued is not queued again
    # The queue's lease runs out before a worker took the task (a backlog, made to pass here):
    # the next sweep queues the row again, and two tasks for one row still send one email.
    Reminder.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    assert reminders.sweep() == 1
    workers(2, port)
    assert wait_for(lambda: handler.messages, 60), "no email arrived"
    assert wait_for(lambda: Reminder.objects.get().status == ReminderStatus.SENT, 20)
    time.sleep(3)  # give a second email every chance to arrive
    assert len(handler.messages) == 1
    recipients, content = handler.messages[0]
    message = message_from_bytes(content)
    assert recipients == [parent.email]
    subject = str(make_header(decode_header(message["Subject"])))
    # The tests and the day, in the parent's language (the subject line folds its spaces).
    assert subject == (
        "Zoé : NFS, urée et électrolytes, bilan hépatique avec bilirubine, CRP, VS "
        "prévus aujourd’hui"
    )
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
    # Claimed, held for the retry, claimed by the retry: one email.
    assert reminder.attempts == 3 and len(handler.messages) == 1
    assert handler.messages[0][0] == [parent.email]
