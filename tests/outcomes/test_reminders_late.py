"""Late, never lost: a whole local day without a sweep (broker, beat or workers down), then each
reminder of that day arrives once, worded as late. Time moves with time-machine; the sweep and
the sending are called directly, as beat and the workers would."""

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from diary.models import CareLink
from outcomes import reminders
from outcomes.models import Reminder, ReminderKind, ReminderStatus
from tests.conftest import make_child, make_user, prescribe

UTC = ZoneInfo("UTC")
# Each zone's day without sweeps is a day its clocks change (Tokyo keeps its own).
ZONES = {
    "Europe/London": date(2026, 3, 29),
    "America/New_York": date(2026, 3, 8),
    "Australia/Sydney": date(2026, 4, 5),
    "Asia/Tokyo": date(2026, 3, 29),
}


def families(world, zone: str, day: date) -> dict:
    """Four children of ZONE whose blood-test reminders fall on DAY, each with a caregiver who
    also wants the diary reminder at 20:00 (and never fills it in)."""
    starts = {
        "Due": day - timedelta(weeks=2),  # week 2 due on DAY
        "Late": day - timedelta(weeks=3),  # week 2 overdue on DAY, week 4 a week after DAY
        "Soon": day - timedelta(weeks=1),  # week 2 a week after DAY
        "Both": day - timedelta(weeks=8),  # week 8 on DAY: bloods and lipids
    }
    children = {}
    for name, start in starts.items():
        child = make_child(world.north, name, timezone=zone)
        prescribe(child, start=start)
        parent = make_user(
            f"parent-{name.lower()}", test_reminders=True, diary_reminder_time=time(20, 0)
        )
        CareLink.objects.create(caregiver=parent, child=child, relationship="mother")
        children[name] = child
    return children


def expected(day: date) -> Counter:
    week = timedelta(weeks=1)
    tests = {
        ("Due", day, ReminderKind.TEST_DUE, "bloods"),
        ("Late", day - week, ReminderKind.TEST_OVERDUE, "bloods"),
        ("Late", day + week, ReminderKind.TEST_BEFORE, "bloods"),
        ("Soon", day + week, ReminderKind.TEST_BEFORE, "bloods"),
        ("Both", day, ReminderKind.TEST_DUE, "bloods+lipids"),
    }
    diary = {
        (name, d, ReminderKind.DIARY, "")
        for name in ("Due", "Late", "Soon", "Both")
        for d in (day - timedelta(days=1), day, day + timedelta(days=1))
    }
    return Counter(tests | diary)


def run(zone: str, day: date, stopped: tuple[datetime, datetime] | None) -> None:
    """Sweep every hour (at :07) from the local day before DAY to the end of the day after,
    except within STOPPED; after each sweep the workers send what it queued."""
    tz = ZoneInfo(zone)
    moment = datetime.combine(day - timedelta(days=1), time(0, 7), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=2), time(0, 0), tzinfo=tz).astimezone(UTC)
    while moment < end:
        if not (stopped and stopped[0] <= moment < stopped[1]):
            with time_machine.travel(moment, tick=False):
                reminders.sweep()
                for pk in Reminder.objects.filter(reminders._to_send(moment)).values_list(
                    "pk", flat=True
                ):
                    reminders.send_one(pk)
        moment += timedelta(hours=1)


def sent() -> Counter:
    rows = Reminder.objects.filter(status=ReminderStatus.SENT)
    return Counter(rows.values_list("child__first_name", "due_date", "kind", "test"))


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("stop", [False, True], ids=["every sweep", "a local day without sweeps"])
def test_each_reminder_arrives_once_even_after_a_whole_local_day_without_sweeps(world, zone, stop):
    day = ZONES[zone]
    tz = ZoneInfo(zone)
    families(world, zone, day)
    stopped = (
        datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC),
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC),
    )
    run(zone, day, stopped if stop else None)
    assert sent() == expected(day)
    assert len(mail.outbox) == sum(expected(day).values())  # one email each, nothing more
    assert not Reminder.objects.exclude(status=ReminderStatus.SENT).exists()
    subjects = Counter(m.subject for m in mail.outbox)
    assert max(subjects.values()) == 1, "two emails look the same"
    late = [m.subject for m in mail.outbox if "yesterday" in m.subject or "Yesterday" in m.body]
    if stop:
        # The day's reminders came the next morning, saying so.
        assert "Due: FBC, U&Es, LFTs incl. bilirubin, CRP, ESR were due yesterday" in late
        assert (
            "Both: FBC, U&Es, LFTs incl. bilirubin, CRP, ESR, lipid profile were due yesterday"
            in late
        )
        assert sum("Yesterday's diary for" in m.body for m in mail.outbox) == 4
    else:
        assert late == []


def test_a_diary_missed_for_several_days_is_reminded_once_for_the_latest(world):
    """Three evenings without a sweep: one email for the latest day, none for the days before
    it, and none for a day already reminded."""
    london = ZoneInfo("Europe/London")
    world.alice.diary_reminder_time = time(20, 0)
    world.alice.save()
    with time_machine.travel(datetime(2026, 5, 4, 21, 0, tzinfo=london), tick=False):
        reminders.sweep()
    with time_machine.travel(datetime(2026, 5, 8, 8, 0, tzinfo=london), tick=False):
        reminders.sweep()
        assert sorted(Reminder.objects.values_list("due_date", flat=True)) == [
            date(2026, 5, 4),
            date(2026, 5, 7),
        ]
        pk = Reminder.objects.get(due_date=date(2026, 5, 7)).pk
        assert reminders.send_one(pk) is True
    assert mail.outbox[-1].subject == "Diary for Amy, Thursday 7 May 2026"
    assert (
        "Yesterday's diary for Amy (Thursday 7 May 2026) is not filled in." in mail.outbox[-1].body
    )
    # The parent fills in the 7th. A sweep that still sees the outage (a second beat that
    # read the last sweep before this one) finds the 5th and 6th empty: covered by the
    # reminder of the 7th, they are not reminded.
    from diary.models import DiaryEntry

    DiaryEntry.objects.create(
        child=world.amy, date=date(2026, 5, 7), instrument_key="ags", instrument_version=1
    )
    now = datetime(2026, 5, 8, 8, 10, tzinfo=london)
    assert (
        reminders.due_diary_reminders(now, since=datetime(2026, 5, 4, 21, 0, tzinfo=london)) == []
    )


def test_nothing_is_sent_later_than_the_configured_lateness(world, settings):
    """Five days without a sweep, three days allowed: the reminders of the last three days are
    made late, the older ones not at all; a row that waited too long is not sent."""
    settings.REMINDER_MAX_LATE_DAYS = 3
    london = ZoneInfo("Europe/London")
    world.alice.test_reminders = True
    world.alice.save()
    prescribe(world.amy, start=date(2026, 2, 16))  # week 2 on 2 March, week 4 on 16 March
    with time_machine.travel(datetime(2026, 3, 1, 23, 0, tzinfo=london), tick=False):
        reminders.sweep()  # before the outage: nothing due yet
    with time_machine.travel(datetime(2026, 3, 6, 8, 0, tzinfo=london), tick=False):
        reminders.sweep()
    # Week 2 was due on 2 March: four days ago, beyond three. Week 4's "in a week" (9 March)
    # is ahead. Nothing is made.
    assert not Reminder.objects.exists()
    with time_machine.travel(datetime(2026, 3, 9, 10, 0, tzinfo=london), tick=False):
        reminders.sweep()  # the overdue reminder of week 2 and week 4's "in a week", on time
    made = set(Reminder.objects.values_list("kind", "due_date"))
    assert made == {
        (ReminderKind.TEST_OVERDUE, date(2026, 3, 2)),
        (ReminderKind.TEST_BEFORE, date(2026, 3, 16)),
    }
    # The mail server is down for four days: the "in a week" row is not sent any more.
    with time_machine.travel(datetime(2026, 3, 13, 10, 0, tzinfo=london), tick=False):
        for pk in Reminder.objects.values_list("pk", flat=True):
            assert reminders.send_one(pk) is False
    statuses = set(Reminder.objects.values_list("status", "last_error"))
    assert statuses == {(ReminderStatus.SKIPPED, "more than 3 days late")}
    assert mail.outbox == []


def test_a_late_reminder_before_the_due_day_is_not_sent_beside_the_due_day_one(world, settings):
    """With a long lateness allowed, a week without sweeps ends on the due day: only "due
    today" is sent, not the "due in a week" that led to it."""
    settings.REMINDER_MAX_LATE_DAYS = 10
    london = ZoneInfo("Europe/London")
    world.alice.test_reminders = True
    world.alice.save()
    prescribe(world.amy, start=date(2026, 3, 2))  # week 2 on 16 March
    with time_machine.travel(datetime(2026, 3, 8, 12, 0, tzinfo=london), tick=False):
        reminders.sweep()
    with time_machine.travel(datetime(2026, 3, 16, 10, 0, tzinfo=london), tick=False):
        reminders.sweep()
    assert list(Reminder.objects.values_list("kind", "due_date")) == [
        (ReminderKind.TEST_DUE, date(2026, 3, 16))
    ]


def test_the_first_sweep_ever_makes_no_late_reminders(world):
    """Without a previous sweep, nothing was missed: a new installation (or a caregiver who
    just opted in) is not sent the days before."""
    london = ZoneInfo("Europe/London")
    world.alice.diary_reminder_time = time(20, 0)
    world.alice.save()
    with time_machine.travel(datetime(2026, 5, 8, 8, 0, tzinfo=london), tick=False):
        reminders.sweep()
    assert not Reminder.objects.exists()
