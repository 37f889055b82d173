"""Reminder emails, exactly once.

Each email is a Reminder row, unique per (child, test, due date, kind, recipient): making the
row is the decision to send, and a second sweep, beat or worker cannot make it twice. Sending
claims the row with a conditional UPDATE and a lease. A worker that dies after the SMTP server
accepted the email but before the row was marked sent leaves a claim whose lease expires; the
row is then claimed again and that one email may go out twice. That is the trade-off chosen:
never lose a reminder, at worst repeat one after a crash.

The sweep is set-based: a fixed number of queries whatever the number of children.
"""

import logging
import smtplib
import zoneinfo
from collections import defaultdict
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from diary import emails
from diary.models import (
    CLINICAL_ROLES,
    CareLink,
    Child,
    DiaryEntry,
    Prescription,
    Role,
    SiteMembership,
    User,
)
from outcomes import schedule, treatment
from outcomes.labs import exact_value
from outcomes.models import (
    LabFlag,
    LabResult,
    Reminder,
    ReminderKind,
    ReminderStatus,
)

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
SALT = "outcomes.unsubscribe"
SCHEDULE_ANALYTES = set().union(*schedule.PANELS.values())


class TransientSendError(Exception):
    """The mail server said try later (or could not be reached): retry with backoff."""


# --- Which reminders are due now ------------------------------------------------------------


def _local_now(tz: str, now: datetime) -> datetime:
    return now.astimezone(zoneinfo.ZoneInfo(tz))


def due_test_reminders(now: datetime) -> list[Reminder]:
    """Unsaved Reminder rows for blood tests, for caregivers who asked for them (five queries
    whatever the number of children)."""
    offsets = {
        ReminderKind.TEST_BEFORE: -settings.REMINDER_DAYS_BEFORE,
        ReminderKind.TEST_DUE: 0,
        ReminderKind.TEST_OVERDUE: settings.REMINDER_DAYS_AFTER,
    }
    shifts = tuple(offsets.values())
    opted = CareLink.objects.filter(
        caregiver__test_reminders=True,
        caregiver__email_bounced_at__isnull=True,
        caregiver__is_active=True,
    ).exclude(caregiver__email="")
    local_days = {}  # zone: its date, where it is past the reminder hour
    for zone in opted.values_list("child__timezone", flat=True).distinct():
        local = _local_now(zone, now)
        if local.hour >= settings.REMINDER_LOCAL_HOUR:
            local_days[zone] = local.date()
    if not local_days:
        return []
    today = timezone.localdate(now)
    since = today - timedelta(days=2 * 365)
    # Every due date lies whole weeks after a course start or a BK viral load of 3 or more:
    # only children with one on the right weekday are loaded (about one in seven), and only
    # those whose week numbers fit the schedule have it computed.
    weekdays = schedule.weekdays(set(local_days.values()), shifts)
    django_weekdays = [(day + 1) % 7 + 1 for day in weekdays]  # Django: Sunday 1 … Saturday 7
    high_bk = defaultdict(set)
    for child_id, sampled in LabResult.objects.filter(
        child_id__in=opted.values("child_id"),
        analyte="bk_plasma",
        value__gte=3,
        sample_date__gte=since,
    ).values_list("child_id", "sample_date"):
        high_bk[child_id].add(sampled)
    low_counts = defaultdict(set)  # tofacitinib's repeat a week later (§5.4)
    for child_id, sampled in LabResult.objects.filter(
        Q(analyte="lymphocytes", value__lt=schedule.TOFA_REPEAT_BELOW["lymphocytes"])
        | Q(analyte="neutrophils", value__lt=schedule.TOFA_REPEAT_BELOW["neutrophils"]),
        child_id__in=opted.values("child_id"),
        sample_date__gte=since,
    ).values_list("child_id", "sample_date"):
        low_counts[child_id].add(sampled)
    anchored = Prescription.objects.filter(
        child_id__in=opted.values("child_id"), start_date__week_day__in=django_weekdays
    ).values("child_id")
    zones = {}
    courses = _courses(
        Prescription.objects.filter(
            Q(child_id__in=anchored) | Q(child_id__in=[*high_bk, *low_counts])
        ),
        zones,
    )
    candidates = {}
    for child_id, child_courses in courses.items():
        day = local_days.get(zones[child_id])
        starts = {c.start for c in child_courses}
        if day and schedule.may_fall_due(
            starts, high_bk[child_id], day, shifts, low_counts=low_counts[child_id]
        ):
            candidates[child_id] = day
    # Reminders concern tests due about now: two years of results settle whether they are done.
    results = _results(list(candidates), since)
    recipients = defaultdict(list)
    for child_id, user_id in opted.filter(child_id__in=list(candidates)).values_list(
        "child_id", "caregiver_id"
    ):
        recipients[child_id].append(user_id)
    rows = []
    for child_id, day in candidates.items():
        for item in schedule.schedule(
            courses[child_id], results[child_id], day, treatment.schedule_settings()
        ):
            if item.done:
                continue
            for kind, offset in offsets.items():
                if item.due + timedelta(days=offset) == day:
                    rows += [
                        Reminder(
                            child_id=child_id,
                            recipient_id=user_id,
                            kind=kind,
                            test=item.panel,
                            due_date=item.due,
                        )
                        for user_id in recipients[child_id]
                    ]
    return rows


def _courses(prescriptions, zones: dict | None = None) -> dict[int, list[schedule.Course]]:
    """{child: courses} of PRESCRIPTIONS; fills ZONES with each child's time zone if given."""
    courses = defaultdict(list)
    rows = list(
        prescriptions.values_list(
            "child_id",
            "drug",
            "start_date",
            "morning_mg",
            "afternoon_mg",
            "evening_mg",
            "reason",
            "child__timezone",
        )
    )
    ids = list({row[0] for row in rows})
    known_weights = treatment.weights_of(ids) if rows else {}
    known_egfrs = treatment.egfrs(ids) if rows else {}
    for child_id, drug, start, m, a, e, reason, zone in rows:
        if zones is not None:
            zones[child_id] = zone
        courses[child_id].append(
            treatment.schedule_course(
                drug,
                start,
                m + a + e,
                reason,
                known_weights.get(child_id, []),
                known_egfrs.get(child_id, []),
            )
        )
    return courses


def _results(child_ids, since: date | None = None) -> dict[int, list]:
    """Schedule-relevant results of CHILD_IDS (a list or a queryset of ids), from SINCE."""
    rows = LabResult.objects.filter(child_id__in=child_ids, analyte__in=SCHEDULE_ANALYTES)
    if since is not None:
        rows = rows.filter(sample_date__gte=since)
    results = defaultdict(list)
    for child_id, analyte, sampled, value, entered, unit in rows.values_list(
        "child_id", "analyte", "sample_date", "value", "entered_value", "entered_unit"
    ):
        results[child_id].append((analyte, sampled, exact_value(value, entered, unit)))
    return results


def _courses_and_results(children=None) -> tuple[dict, dict]:
    """Treatment courses and schedule-relevant results of every child, or of the children of
    a queryset (two queries). All results: the schedule lists every test since the first
    dose, and an old test is done only if its old result is there."""
    prescriptions = Prescription.objects.all()
    if children is not None:
        prescriptions = prescriptions.filter(child__in=children)
    courses = _courses(prescriptions)
    ids = children.values("pk") if children is not None else list(courses)
    return courses, _results(ids) if courses else defaultdict(list)


def due_diary_reminders(now: datetime) -> list[Reminder]:
    """Unsaved rows for caregivers whose chosen time has passed and whose child has no entry."""
    links = list(
        CareLink.objects.filter(
            caregiver__diary_reminder_time__isnull=False,
            caregiver__email_bounced_at__isnull=True,
            caregiver__is_active=True,
        )
        .exclude(caregiver__email="")
        .values_list(
            "child_id", "caregiver_id", "caregiver__diary_reminder_time", "child__timezone"
        )
    )
    if not links:
        return []
    todays = {}
    for child_id, _user, at, tz in links:
        local = _local_now(tz, now)
        if local.time() >= at:
            todays[child_id] = local.date()
    recorded = set(
        DiaryEntry.objects.filter(
            child_id__in=list(todays), date__in=set(todays.values())
        ).values_list("child_id", "date")
    )
    return [
        Reminder(
            child_id=child_id,
            recipient_id=user_id,
            kind=ReminderKind.DIARY,
            test="",
            due_date=todays[child_id],
        )
        for child_id, user_id, _at, _tz in links
        if child_id in todays and (child_id, todays[child_id]) not in recorded
    ]


def sweep(now: datetime | None = None) -> int:
    """Make the rows of every reminder due now, then queue every row still to send.

    Returns how many rows were queued. Safe to run any number of times, anywhere.
    """
    now = now or timezone.now()
    rows = due_test_reminders(now) + due_diary_reminders(now)
    # One INSERT on PostgreSQL whatever the count (SQLite splits by its variable limit).
    Reminder.objects.bulk_create(rows, ignore_conflicts=True)
    return queue_pending(now)


def _to_send(now: datetime) -> Q:
    """Rows still to send: pending, or claimed by a worker whose lease has run out."""
    return Q(status=ReminderStatus.PENDING) | Q(status=ReminderStatus.CLAIMED, lease_until__lt=now)


def queue_pending(now: datetime | None = None, **only) -> int:
    """Queue the rows still to send (those matching ONLY, when given) once the transaction
    commits."""
    now = now or timezone.now()
    rows = Reminder.objects.filter(_to_send(now), **only)
    ids = list(rows.values_list("pk", flat=True)[:5000])
    if ids:
        transaction.on_commit(lambda: _enqueue(ids))
    return len(ids)


ENQUEUE_BATCH = 50  # reminders per message: one publish each, spread over the workers


def _enqueue(ids: list[int]) -> None:
    """Hand the rows to the workers in batches. A broker that is down loses nothing: the rows
    stay pending and the next sweep queues them again."""
    from outcomes.tasks import send_reminders

    try:
        for start in range(0, len(ids), ENQUEUE_BATCH):
            send_reminders.delay(ids[start : start + ENQUEUE_BATCH])
    except Exception:  # noqa: BLE001 - any broker error; the sweep retries
        logger.warning("broker unavailable: %d reminders wait for the next sweep", len(ids))


def alert_clinicians(result: LabResult) -> None:
    """Rows for an immediate email to the child's clinicians about a result (no values)."""
    alert_child_clinicians(result.child, result.sample_date)


def alert_child_clinicians(child, day: date, test: str = "results") -> None:
    """Rows for an immediate email to CHILD's clinicians about a flag raised on DAY."""
    clinicians = (
        SiteMembership.objects.filter(
            site_id=child.site_id,
            role__in=CLINICAL_ROLES,
            user__is_active=True,
            user__email_bounced_at__isnull=True,
            user__clinical_emails=True,
        )
        .exclude(user__email="")
        .values_list("user_id", flat=True)
    )
    Reminder.objects.bulk_create(
        [
            Reminder(
                child=child,
                recipient_id=user_id,
                kind=ReminderKind.THRESHOLD,
                test=test,
                due_date=day,
            )
            for user_id in clinicians
        ],
        ignore_conflicts=True,
    )
    # Only this alert: the rest of the backlog is the sweep's, not this request's.
    queue_pending(child=child, kind=ReminderKind.THRESHOLD, due_date=day)


def weekly_digest(now: datetime | None = None) -> int:
    """One digest row per clinician with overdue tests or open flags at their sites."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    open_flags = defaultdict(int)
    for site_id in LabFlag.objects.open().values_list("child__site_id", flat=True):
        open_flags[site_id] += 1
    overdue = overdue_by_site(today)
    rows = []
    for user_id, site_id in (
        SiteMembership.objects.filter(
            role__in=CLINICAL_ROLES,
            user__is_active=True,
            user__email_bounced_at__isnull=True,
            user__digest_emails=True,
        )
        .exclude(user__email="")
        .values_list("user_id", "site_id")
    ):
        if open_flags[site_id] or overdue[site_id]:
            rows.append(
                Reminder(
                    child=None,
                    recipient_id=user_id,
                    kind=ReminderKind.DIGEST,
                    test=f"site-{site_id}",
                    due_date=today,
                )
            )
    Reminder.objects.bulk_create(rows, ignore_conflicts=True)
    return queue_pending(now)


def _overdue(today: date, children=None) -> dict[int, list[schedule.Due]]:
    """{child: tests overdue beyond the grace period} of every treated child, or of the
    children of a queryset."""
    courses, results = _courses_and_results(children)
    return {
        child_id: schedule.overdue(
            schedule.schedule(
                child_courses, results[child_id], today, treatment.schedule_settings()
            ),
            today,
            settings.REMINDER_DAYS_AFTER,
        )
        for child_id, child_courses in courses.items()
    }


def overdue_counts(children, today: date) -> dict[int, int]:
    """{child: number of tests overdue beyond the grace period} for a queryset of children."""
    return {child_id: len(items) for child_id, items in _overdue(today, children).items()}


def overdue_by_site(today: date) -> dict[int, list]:
    """{site: [(child, Due)]} for tests overdue by more than the grace period."""
    overdue = _overdue(today)
    out = defaultdict(list)
    late = [child_id for child_id, items in overdue.items() if items]
    for child in Child.objects.filter(pk__in=late).only("pk", "site_id", "first_name"):
        out[child.site_id] += [(child, item) for item in overdue[child.pk]]
    return out


# --- Sending ---------------------------------------------------------------------------------


def claim(pk: int, now: datetime | None = None) -> Reminder | None:
    """Take the row for sending; None when another worker has it or it is done."""
    now = now or timezone.now()
    claimed = Reminder.objects.filter(_to_send(now), pk=pk).update(
        status=ReminderStatus.CLAIMED, lease_until=now + LEASE, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    return Reminder.objects.select_related("recipient", "child", "child__site").get(pk=pk)


def send_one(pk: int) -> bool:
    """Claim, send and record one reminder. True when this call sent it."""
    reminder = claim(pk)
    if reminder is None:
        return False
    try:
        deliver(reminder)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _msg in error.recipients.values()]
        if codes and all(500 <= code < 600 for code in codes):
            _failed(reminder, f"refused permanently: {codes}")
            return False
        _release(reminder, f"refused for now: {codes}")
        raise TransientSendError(str(codes)) from error
    except smtplib.SMTPResponseException as error:
        if 500 <= error.smtp_code < 600:
            _failed(reminder, f"{error.smtp_code} {error.smtp_error!r}")
            return False
        _release(reminder, f"{error.smtp_code} {error.smtp_error!r}")
        raise TransientSendError(str(error.smtp_code)) from error
    except (smtplib.SMTPException, OSError) as error:
        _release(reminder, repr(error))
        raise TransientSendError(repr(error)) from error
    Reminder.objects.filter(pk=reminder.pk).update(
        status=ReminderStatus.SENT, sent_at=timezone.now(), last_error=""
    )
    return True


def _release(reminder: Reminder, error: str) -> None:
    Reminder.objects.filter(pk=reminder.pk).update(
        status=ReminderStatus.PENDING, lease_until=None, last_error=error[:500]
    )


def _failed(reminder: Reminder, error: str) -> None:
    """A permanent refusal: no more emails to that address; the site administrators are told."""
    with transaction.atomic():
        Reminder.objects.filter(pk=reminder.pk).update(
            status=ReminderStatus.FAILED, last_error=error[:500]
        )
        User.objects.filter(pk=reminder.recipient_id).update(email_bounced_at=timezone.now())
    logger.warning("reminder %s: address refused permanently", reminder.pk)
    site_id = reminder.child.site_id if reminder.child else None
    admins = SiteMembership.objects.filter(role=Role.SITE_ADMIN, user__is_active=True)
    if site_id:
        admins = admins.filter(site_id=site_id)
    for admin in (
        User.objects.filter(pk__in=admins.values("user_id"))
        .exclude(pk=reminder.recipient_id)
        .exclude(email="")
    ):
        try:
            emails.send(
                "bounce_notice",
                admin.email,
                {"person": reminder.recipient, "site_url": settings.SITE_URL},
                admin.language,
            )
        except (smtplib.SMTPException, OSError):
            logger.warning("could not tell the site administrator about a bounce")


# What an unsubscribe link turns off: reminders and digests only. Urgent alerts carry no such
# link (anyone who sees a forwarded email could stop them); "alerts", in links sent before they
# were told apart, stops the digest alone.
UNSUBSCRIBE = {
    "diary": {"diary_reminder_time": None},
    "tests": {"test_reminders": False},
    "digest": {"digest_emails": False},
    "alerts": {"digest_emails": False},
}


def unsubscribe_token(user: User, what: str) -> str:
    return signing.dumps({"u": user.pk, "w": what}, salt=SALT)


def unsubscribe_url(user: User, what: str) -> str:
    return settings.SITE_URL + reverse("unsubscribe", args=[unsubscribe_token(user, what)])


def deliver(reminder: Reminder) -> None:
    person = reminder.recipient
    child = reminder.child
    what = {
        ReminderKind.DIARY: "diary",
        ReminderKind.THRESHOLD: None,  # urgent: changed on the preferences page, signed in
        ReminderKind.DIGEST: "digest",
    }.get(reminder.kind, "tests")
    unsubscribe = unsubscribe_url(person, what) if what else ""
    headers = (
        {
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        if unsubscribe
        else {}
    )
    link = settings.SITE_URL + (
        reverse("day", args=[child.pk])
        if reminder.kind == ReminderKind.DIARY
        else reverse("child_detail", args=[child.pk])
        if child
        else reverse("dashboard")
    )
    context = {
        "reminder": reminder,
        "child": child,
        "person": person,
        "link": link,
        "unsubscribe": unsubscribe,
        "preferences": settings.SITE_URL + reverse("reminder_preferences"),
        "panel": reminder.test,
    }
    template = {
        ReminderKind.DIARY: "diary_reminder",
        ReminderKind.THRESHOLD: "threshold_alert",
        ReminderKind.DIGEST: "weekly_digest",
    }.get(reminder.kind, "test_reminder")
    emails.send(template, person.email, context, person.language, headers=headers)
