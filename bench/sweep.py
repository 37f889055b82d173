"""The reminder sweep at 10× the size: the same sweep over N and 10·N children.

Loads site 'bench-sweep': one caregiver per child (opted in to test reminders; one in five
with a daily diary reminder), a baricitinib course started within the last two years (half
escalated), blood results where the monitoring schedule asks for them (one analyte per panel,
which is what the schedule reads), a tenth of the children with their latest test not done,
and most diary-reminded children with today's entry. Then times `reminders.sweep()` and counts
its queries at both sizes.
"""

import random
import time
import uuid
from datetime import datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.cohort import PRESCRIPTION, RECORDED, _copy, analyze, delete_site
from diary.models import CareLink, Child, DiaryEntry, Prescription, Site, User
from outcomes import reminders, schedule
from outcomes.models import LabResult, Reminder

SITE = "bench-sweep"
ZONE = "Europe/London"
ONE_PER_PANEL = {"bloods": "hb", "lipids": "cholesterol", "bk_jc": "bk_plasma"}


def _now() -> datetime:
    """10:00 today in London: after the reminder hour and the diary reminders' time."""
    today = timezone.localdate()
    return datetime.combine(today, clock(10, 0), tzinfo=ZoneInfo(ZONE))


def reset() -> None:
    """Remove the sweep site's rows (SQL: the ORM's cascade would take minutes at 100,000)."""
    site = Site.objects.filter(code=SITE).first()
    if site is None:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        delete_site(site, (Reminder, LabResult, DiaryEntry, Prescription, CareLink))
        cursor.execute("DELETE FROM diary_user WHERE username LIKE 'sweep-%%'")


def load(total: int, seed: int = 5) -> dict:
    """Grow site 'bench-sweep' to TOTAL children (existing ones are kept)."""
    site, _ = Site.objects.get_or_create(
        code=SITE, defaults={"name": "Benchmark (sweep)", "country": "GB", "timezone": ZONE}
    )
    have = Child.objects.filter(site=site).count()
    if have >= total:
        return {"children": have, "added": 0}
    started = time.perf_counter()
    today = _now().date()
    rng = random.Random(f"{seed}-{have}")
    password = make_password(None)
    stamp = timezone.now()
    counts = {"children": 0, "labs": 0}
    with transaction.atomic():
        users = User.objects.bulk_create(
            User(
                username=f"sweep-{n}",
                email=f"sweep-{n}@example.org",
                password=password,
                test_reminders=True,
                diary_reminder_time=clock(7, 0) if n % 5 == 0 else None,
            )
            for n in range(have, total)
        )
        children = Child.objects.bulk_create(
            Child(
                site=site,
                reference=f"W{n}",
                first_name="Sweep",
                last_name=str(n),
                date_of_birth=today - timedelta(days=2000 + n % 1500),
                sex="F" if n % 2 else "M",
                diagnosis="AGS2",
                timezone=ZONE,
                language="en",
            )
            for n in range(have, total)
        )
        CareLink.objects.bulk_create(
            CareLink(caregiver=u, child=c, relationship="mother")
            for u, c in zip(users, children, strict=True)
        )
        rx_rows, lab_rows, entry_rows = [], [], []
        for n, child in enumerate(children, start=have):
            start = today - timedelta(days=rng.randint(14, 730))
            courses = [schedule.Course("baricitinib", start, Decimal(4))]
            rx_rows.append((child.pk, "baricitinib", "interferonopathy", start, 2, 0, 2, "initial"))
            if n % 2 and (today - start).days > 120:
                later = start + timedelta(days=rng.randint(30, 90))
                courses.append(schedule.Course("baricitinib", later, Decimal(6), True))
                rx_rows.append(
                    (child.pk, "baricitinib", "interferonopathy", later, 2, 2, 2, "escalation")
                )
            items = [d for d in schedule.schedule(courses, [], today) if d.due < today]
            if n % 10 == 0 and items:
                items = items[:-1]  # the latest test not done
            for item in items:
                sampled = min(item.due + timedelta(days=rng.randint(-3, 3)), today)
                analyte = ONE_PER_PANEL.get(item.panel, "bk_plasma")
                value = Decimal("1.5") if analyte == "bk_plasma" else Decimal("11.2")
                lab_rows.append(
                    (child.pk, sampled, analyte, value, "u", value, "u", "", False, stamp)
                )
            if n % 5 == 0 and n % 25:  # most diary-reminded families have filled today in
                entry_rows.append(
                    (uuid.uuid4(), child.pk, today, 1, stamp, stamp, "ags", 1, {}, {})
                )
        _copy(Prescription, PRESCRIPTION, [(*row, "", "", "", stamp) for row in rx_rows])
        counts["labs"] = _copy(
            LabResult,
            [
                "child_id",
                "sample_date",
                "analyte",
                "value",
                "unit",
                "entered_value",
                "entered_unit",
                "assay",
                "caregiver_entered",
                "created",
            ],
            lab_rows,
        )
        _copy(
            DiaryEntry,
            RECORDED
            + [
                "instrument_key",
                "instrument_version",
                "scores",
                "subscores",
                "answered",
                "no_symptoms",
                "fever",
                "illness",
                "zoster",
                "note",
            ],
            [(*row, 0, True, False, False, False, "") for row in entry_rows],
        )
        counts["children"] = len(children)
    analyze()
    return {**counts, "seconds": round(time.perf_counter() - started, 1)}


def measure(missed_day: bool = False) -> dict:
    """One sweep from scratch (no reminder rows yet): seconds, queries, rows made and queued.

    As in production, the last sweep ran one interval before; MISSED_DAY: it ran yesterday
    before the reminder hour (a day without sweeps), so the sweep also makes yesterday's
    reminders, late.
    What it queues is published to the broker and purged after."""
    from django.conf import settings

    from config.celery import app
    from outcomes.models import ReminderSweep

    Reminder.objects.filter(child__site__code=SITE).delete()
    now = _now()
    before = now - timedelta(seconds=settings.CELERY_BEAT_SCHEDULE["sweep-reminders"]["schedule"])
    if missed_day:  # the last sweep was yesterday at 08:00, before the reminder hour
        before = now - timedelta(days=1, hours=2)
    ReminderSweep.objects.update_or_create(pk=1, defaults={"finished": before})
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        queued = reminders.sweep(now)
        seconds = time.perf_counter() - started
    app.control.purge()  # no worker here: the queued batches are not for sending
    made = Reminder.objects.filter(child__site__code=SITE).count()
    return {"seconds": seconds, "queries": len(queries), "queued": queued, "rows": made}
