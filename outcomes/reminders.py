"""Reminders (email and notifications on the phone), exactly once, late rather than lost.

Each message is a Reminder row, unique per (child, due date, kind, recipient): making the row is
the decision to send, and a second sweep, beat or worker cannot make it twice. A blood-test row
names every test due that day ("bloods+lipids"), so two panels due together are one message.
Sending claims the row with a conditional UPDATE and a lease; the row records each channel
(email, push) when it is done, so a retry never repeats a channel that went through.

A worker that dies after the SMTP server accepted the email but before the row was marked sent
leaves a claim whose lease expires; the row is then claimed again and that one email may go out
twice. That is the trade-off chosen: never lose a reminder, at worst repeat one after a crash.

Late, never lost: the sweep remembers when it last ran (ReminderSweep). A reminder whose moment
fell after that, on an earlier day within REMINDER_MAX_LATE_DAYS, was missed (broker, beat or
workers down) and is made now, worded as late. One in flight: a failed send keeps its claim, with
a lease that covers its retry (the retry chain holds the lease), so a sweep never queues it again
meanwhile; a mail server that is down stops the batch and retries the batch as one task.

The sweep is set-based: a fixed number of queries whatever the number of children.
"""

import logging
import smtplib
import zoneinfo
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.db.models import Exists, F, Max, OuterRef, Q
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from diary import emails, webpush
from diary.models import (
    CLINICAL_ROLES,
    CareLink,
    Channel,
    Child,
    DiaryEntry,
    Prescription,
    PushSubscription,
    Role,
    SiteMembership,
    User,
)
from outcomes import queueing, schedule, thresholds, treatment
from outcomes.models import (
    TEST_KINDS,
    LabFlag,
    LabResult,
    Reminder,
    ReminderKind,
    ReminderStatus,
    ReminderSweep,
)

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
SALT = "outcomes.unsubscribe"
SCHEDULE_ANALYTES = set().union(*schedule.PANELS.values())
PANEL_ORDER = list(schedule.PANELS)
# Caregivers' reminders: sent late up to REMINDER_MAX_LATE_DAYS, by their chosen channel.
CAREGIVER_KINDS = (*TEST_KINDS, ReminderKind.DIARY)

# The tests as a message names them (the guideline's words, §6.7 and §5.4).
TEST_NAMES = {
    "bloods": gettext_lazy("FBC, U&Es, LFTs incl. bilirubin, CRP, ESR"),
    "lipids": gettext_lazy("lipid profile"),
    "bk_jc": gettext_lazy("BK and JC virus PCR in plasma and urine"),
    "bk_viral_load": gettext_lazy("BK viral load"),
    "repeat_neutrophils": gettext_lazy("neutrophils (repeat)"),
    "repeat_lymphocytes": gettext_lazy("lymphocytes (repeat)"),
}


class TransientSendError(Exception):
    """Try later: the mail server or a push service said so, or could not be reached.

    SERVER: the mail server itself is out of reach (every email would fail the same way)."""

    def __init__(self, message: str, server: bool = False):
        super().__init__(message)
        self.server = server
        self.attempts: int | None = None  # of the claim that met it, which the retry holds


# --- Which reminders are due now ------------------------------------------------------------


def _local_now(tz: str, now: datetime) -> datetime:
    return now.astimezone(zoneinfo.ZoneInfo(tz))


def _moment(day: date, at: time, tz: str) -> datetime:
    """When a reminder of DAY at local time AT is due (a time skipped by DST: the hour after)."""
    return datetime.combine(day, at, tzinfo=zoneinfo.ZoneInfo(tz))


def last_sweep() -> datetime | None:
    """The moment the last completed sweep made its rows as of."""
    return ReminderSweep.objects.filter(pk=1).values_list("finished", flat=True).first()


def _record_sweep(now: datetime) -> None:
    """Remember NOW as the last sweep's moment (never move it back: sweeps may overlap)."""
    later = Q(finished__lt=now) | Q(finished__isnull=True)
    if not ReminderSweep.objects.filter(later, pk=1).update(finished=now):
        ReminderSweep.objects.get_or_create(pk=1, defaults={"finished": now})


def _days_due(tz: str, at: time, now: datetime, since: datetime | None) -> list[date]:
    """The local days of TZ whose reminder at AT is to be made now: today once AT has passed,
    and earlier days within REMINDER_MAX_LATE_DAYS whose moment no sweep has seen (it came
    after SINCE, the last sweep), latest first."""
    today = _local_now(tz, now).date()
    days = []
    for back in range(settings.REMINDER_MAX_LATE_DAYS + 1):
        day = today - timedelta(days=back)
        moment = _moment(day, at, tz)
        if moment > now:
            continue
        if back == 0 or (since is not None and moment > since):
            days.append(day)
    return days


def _reachable(channel_field: str) -> Q:
    """Caregiver links whose caregiver can be reached by the channel chosen in CHANNEL_FIELD."""
    by_email = (
        Q(**{f"caregiver__{channel_field}__in": [Channel.EMAIL, Channel.BOTH]})
        & Q(caregiver__email_bounced_at__isnull=True)
        & ~Q(caregiver__email="")
    )
    by_push = Q(**{f"caregiver__{channel_field}__in": [Channel.NOTIFICATION, Channel.BOTH]}) & Q(
        Exists(PushSubscription.objects.filter(user_id=OuterRef("caregiver_id")))
    )
    return by_email | by_push


def _panels(panels) -> str:
    return "+".join(sorted(set(panels), key=PANEL_ORDER.index))


def due_test_reminders(now: datetime, since: datetime | None = None) -> list[Reminder]:
    """Unsaved Reminder rows for blood tests, one per child, due date and kind for each
    caregiver who asked for them (a fixed number of queries whatever the number of children).

    Made on the family's day from REMINDER_LOCAL_HOUR; a day missed since SINCE (the last
    sweep) within REMINDER_MAX_LATE_DAYS is made late."""
    offsets = {
        ReminderKind.TEST_BEFORE: -settings.REMINDER_DAYS_BEFORE,
        ReminderKind.TEST_DUE: 0,
        ReminderKind.TEST_OVERDUE: settings.REMINDER_DAYS_AFTER,
    }
    shifts = tuple(offsets.values())
    opted = CareLink.objects.filter(
        _reachable("test_reminder_channel"),
        caregiver__test_reminders=True,
        caregiver__is_active=True,
    )
    at = time(settings.REMINDER_LOCAL_HOUR)
    zone_days = {}  # zone: its days to make, latest (today) first
    for zone in opted.values_list("child__timezone", flat=True).distinct():
        days = _days_due(zone, at, now, since)
        if days:
            zone_days[zone] = days
    if not zone_days:
        return []
    today = timezone.localdate(now)
    since_day = today - timedelta(days=2 * 365)
    # Every due date lies whole weeks after a course start or a BK viral load of 3 or more:
    # only children with one on the right weekday are loaded (about one in seven), and only
    # those whose week numbers fit the schedule have it computed.
    weekdays = schedule.weekdays(set().union(*zone_days.values()), shifts)
    django_weekdays = [(day + 1) % 7 + 1 for day in weekdays]  # Django: Sunday 1 … Saturday 7
    high_bk = defaultdict(set)
    for child_id, sampled in LabResult.objects.filter(
        child_id__in=opted.values("child_id"),
        analyte="bk_plasma",
        value__gte=3,
        sample_date__gte=since_day,
    ).values_list("child_id", "sample_date"):
        high_bk[child_id].add(sampled)
    low_counts = defaultdict(set)  # tofacitinib's repeat a week later (§5.4)
    for child_id, sampled in LabResult.objects.filter(
        Q(analyte="lymphocytes", value__lt=schedule.TOFA_REPEAT_BELOW["lymphocytes"])
        | Q(analyte="neutrophils", value__lt=schedule.TOFA_REPEAT_BELOW["neutrophils"]),
        child_id__in=opted.values("child_id"),
        sample_date__gte=since_day,
    ).values_list("child_id", "sample_date"):
        low_counts[child_id].add(sampled)
    anchored = Prescription.objects.filter(
        child_id__in=opted.values("child_id"), start_date__week_day__in=django_weekdays
    ).values("child_id")
    prescribed = _prescription_rows(
        Prescription.objects.filter(
            Q(child_id__in=anchored) | Q(child_id__in=[*high_bk, *low_counts])
        )
    )
    zones, starts = {}, defaultdict(set)
    for row in prescribed:
        zones[row[0]] = row[7]
        starts[row[0]].add(row[2])
    candidates = {}
    for child_id, child_starts in starts.items():
        days = [
            day
            for day in zone_days.get(zones[child_id], [])
            if schedule.may_fall_due(
                child_starts, high_bk[child_id], day, shifts, low_counts=low_counts[child_id]
            )
        ]
        if days:
            candidates[child_id] = days
    courses = _courses_of([row for row in prescribed if row[0] in candidates])
    # Reminders concern tests due about now: two years of results settle whether they are done.
    results = _results(list(candidates), since_day)
    recipients = defaultdict(list)
    for child_id, user_id in opted.filter(child_id__in=list(candidates)).values_list(
        "child_id", "caregiver_id"
    ):
        recipients[child_id].append(user_id)
    rows = []
    for child_id, days in candidates.items():
        local_today = _local_now(zones[child_id], now).date()
        messages = defaultdict(set)  # (due date, kind): panels
        for item in schedule.schedule(
            courses[child_id], results[child_id], max(days), treatment.schedule_settings()
        ):
            if item.done:
                continue
            # The latest of the kinds whose day is here: a late "due in a week" is not sent
            # beside (or after) the "due today" it led to.
            kinds = [k for k, off in offsets.items() if item.due + timedelta(days=off) in days]
            if not kinds:
                continue
            kind = max(kinds, key=lambda k: offsets[k])
            if kind == ReminderKind.TEST_BEFORE and item.due <= local_today:
                continue
            messages[(item.due, kind)].add(item.panel)
        for (due, kind), panels in messages.items():
            rows += [
                Reminder(
                    child_id=child_id,
                    recipient_id=user_id,
                    kind=kind,
                    test=_panels(panels),
                    due_date=due,
                )
                for user_id in recipients[child_id]
            ]
    return rows


def _prescription_rows(prescriptions) -> list[tuple]:
    return list(
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


def _courses_of(rows: list[tuple]) -> dict[int, list[schedule.Course]]:
    """{child: courses} of prescription ROWS (whether a dose is high reads the weight and eGFR
    at its start: the costly part, so only for the children that need a schedule)."""
    courses = defaultdict(list)
    ids = list({row[0] for row in rows})
    known_weights = treatment.weights_of(ids) if rows else {}
    known_egfrs = treatment.egfrs(ids) if rows else {}
    for child_id, drug, start, m, a, e, reason, _zone in rows:
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


def _courses(prescriptions, zones: dict | None = None) -> dict[int, list[schedule.Course]]:
    """{child: courses} of PRESCRIPTIONS; fills ZONES with each child's time zone if given."""
    rows = _prescription_rows(prescriptions)
    if zones is not None:
        zones.update((row[0], row[7]) for row in rows)
    return _courses_of(rows)


def _results(child_ids, since: date | None = None) -> dict[int, list]:
    """Schedule-relevant results of CHILD_IDS (a list or a queryset of ids), from SINCE."""
    rows = LabResult.objects.filter(child_id__in=child_ids, analyte__in=SCHEDULE_ANALYTES)
    if since is not None:
        rows = rows.filter(sample_date__gte=since)
    results = defaultdict(list)
    for child_id, analyte, sampled, value, entered, unit in rows.values_list(
        "child_id", "analyte", "sample_date", "value", "entered_value", "entered_unit"
    ):
        results[child_id].append((analyte, sampled, thresholds.exact_value(value, entered, unit)))
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


def due_diary_reminders(now: datetime, since: datetime | None = None) -> list[Reminder]:
    """Unsaved rows for caregivers whose chosen time has passed and whose child has no entry
    for that day. A day missed since SINCE (the last sweep) within REMINDER_MAX_LATE_DAYS is
    made late; of several missed days only the latest is reminded, never one before a day
    already reminded."""
    links = list(
        CareLink.objects.filter(
            _reachable("diary_reminder_channel"),
            caregiver__diary_reminder_time__isnull=False,
            caregiver__is_active=True,
        ).values_list(
            "child_id", "caregiver_id", "caregiver__diary_reminder_time", "child__timezone"
        )
    )
    if not links:
        return []
    days = {}  # (child, caregiver): the days to remind, latest first
    for child_id, user_id, at, tz in links:
        found = _days_due(tz, at, now, since)
        if found:
            days[(child_id, user_id)] = found
    if not days:
        return []
    children = {child_id for child_id, _user in days}
    all_days = set().union(*days.values())
    recorded = set(
        DiaryEntry.objects.filter(child_id__in=children, date__in=all_days).values_list(
            "child_id", "date"
        )
    )
    reminded = {
        (child_id, user_id): latest
        for child_id, user_id, latest in Reminder.objects.filter(
            kind=ReminderKind.DIARY, child_id__in=children, due_date__gte=min(all_days)
        )
        .values("child_id", "recipient_id")
        .annotate(latest=Max("due_date"))
        .values_list("child_id", "recipient_id", "latest")
    }
    rows = []
    for (child_id, user_id), found in days.items():
        latest = reminded.get((child_id, user_id))
        missing = [
            d for d in found if (child_id, d) not in recorded and (latest is None or d > latest)
        ]
        if missing:
            rows.append(
                Reminder(
                    child_id=child_id,
                    recipient_id=user_id,
                    kind=ReminderKind.DIARY,
                    test="",
                    due_date=missing[0],
                )
            )
    return rows


def sweep(now: datetime | None = None) -> int:
    """Make the rows of every reminder due now (and of those missed since the last sweep),
    then queue every row still to send whose claim is not live.

    Returns how many rows were handed to the broker (0 when it refused them: the log says why).
    Safe to run any number of times, anywhere."""
    now = now or timezone.now()
    since = last_sweep()
    rows = due_test_reminders(now, since) + due_diary_reminders(now, since)
    with transaction.atomic():
        # One INSERT on PostgreSQL whatever the count (SQLite splits by its variable limit).
        Reminder.objects.bulk_create(rows, ignore_conflicts=True)
        _record_sweep(now)
    queued, pending, note = queue_pending(now)
    ReminderSweep.objects.filter(pk=1).update(made=len(rows), queued=queued, note=note[:200])
    logger.info(
        "reminder sweep: %d due now, %d to send, %d queued%s",
        len(rows),
        pending,
        queued,
        f" ({note})" if note else "",
    )
    return queued


def _to_send(now: datetime) -> Q:
    """Rows still to send: pending, or claimed by a worker whose lease has run out (a live
    lease is a send in flight, or a retry waiting for its turn)."""
    return Q(status=ReminderStatus.PENDING) | Q(status=ReminderStatus.CLAIMED, lease_until__lt=now)


ENQUEUE_BATCH = 50  # reminders per message: one publish each, spread over the workers
QUEUE_CHUNK = 20_000  # ids read per query (one more query each), so that memory stays bounded


def queue_pending(now: datetime | None = None, **only) -> tuple[int, int, str]:
    """Hand the rows still to send (those matching ONLY, when given) to the workers, in
    batches of ENQUEUE_BATCH. Returns (queued, to send, why fewer were queued).

    Inside a transaction (a request that made an alert), the rows are queued once it commits:
    (0, to send, "after commit") is returned."""
    now = now or timezone.now()
    if connection.in_atomic_block:
        pending = Reminder.objects.filter(_to_send(now), **only).count()
        if not pending:
            return 0, 0, ""
        transaction.on_commit(lambda: _enqueue_all(now, only))
        return 0, pending, "after commit"
    return _enqueue_all(now, only)


def _enqueue_all(now: datetime, only: dict) -> tuple[int, int, str]:
    """Take every row still to send under one lease, the queue's (no sweep queues them again
    while it lasts; the tasks carry it to claim them), then publish them in batches."""
    lease = timezone.now() + LEASE
    taken = Reminder.objects.filter(_to_send(now), **only).update(
        status=ReminderStatus.CLAIMED, lease_until=lease
    )
    if not taken:
        return 0, 0, ""
    rows = Reminder.objects.filter(status=ReminderStatus.CLAIMED, lease_until=lease).order_by("pk")
    queued = 0
    ids = list(rows.values_list("pk", flat=True)[:QUEUE_CHUNK])
    while ids:
        done, note = _enqueue(ids, lease)
        queued += done
        if note:  # not published: to send again at once, by the next sweep
            rows.filter(pk__gte=ids[done]).update(status=ReminderStatus.PENDING, lease_until=None)
            return queued, taken, note
        if len(ids) < QUEUE_CHUNK:
            break
        ids = list(rows.filter(pk__gt=ids[-1]).values_list("pk", flat=True)[:QUEUE_CHUNK])
    return queued, taken, ""


def _enqueue(ids: list[int], lease: datetime) -> tuple[int, str]:
    """Publish IDS in batches; (how many were published, why the rest were not). A broker
    that is down loses nothing: the rows stay to send and the next sweep queues them again."""
    queued = 0
    for start in range(0, len(ids), ENQUEUE_BATCH):
        batch = ids[start : start + ENQUEUE_BATCH]
        try:
            queueing.enqueue(queueing.SEND_REMINDERS, batch, lease=lease.isoformat())
        except Exception as error:  # noqa: BLE001 - any broker error; the next sweep retries
            note = f"broker unavailable: {type(error).__name__}"
            logger.warning(
                "broker unavailable (%s): %d reminders wait for the next sweep",
                type(error).__name__,
                len(ids) - queued,
            )
            return queued, note
        queued += len(batch)
    return queued, ""


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
    """One digest row per clinician with overdue tests or open flags at their sites; returns
    how many there are this week (each is sent once)."""
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
    queued, pending, note = queue_pending(now, kind=ReminderKind.DIGEST)
    logger.info(
        "weekly digest: %d made, %d to send, %d queued %s", len(rows), pending, queued, note
    )
    return len(rows)


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


# --- What a reminder says -------------------------------------------------------------------


def tests_named(panels: list[str]) -> str:
    """The tests of PANELS as a message names them: "FBC, U&Es, LFTs incl. bilirubin, CRP,
    ESR, lipid profile"."""
    return ", ".join(str(TEST_NAMES.get(p, schedule.panel_label(p))) for p in panels)


def send_day(reminder: Reminder) -> date:
    """The family's day the reminder was meant for."""
    offset = {
        ReminderKind.TEST_BEFORE: -settings.REMINDER_DAYS_BEFORE,
        ReminderKind.TEST_OVERDUE: settings.REMINDER_DAYS_AFTER,
    }.get(reminder.kind, 0)
    return reminder.due_date + timedelta(days=offset)


def _long_day(day: date) -> str:
    return formats.date_format(day, "l j F Y")


def wording(reminder: Reminder, today: date) -> dict:
    """Subject, title and lead sentence of a caregiver's reminder on the family's TODAY, in the
    active language: the tests and the date, and late when it is."""
    name = reminder.child.first_name
    day = _long_day(reminder.due_date)
    values = {"name": name, "day": day}
    ago = (today - reminder.due_date).days
    if reminder.kind == ReminderKind.DIARY:
        title = _("Diary for %(name)s") % values
        if ago <= 0:
            lead = _("Today's diary for %(name)s is not filled in yet.") % values
        elif ago == 1:
            lead = _("Yesterday's diary for %(name)s (%(day)s) is not filled in.") % values
        else:
            lead = _("The diary for %(name)s of %(day)s is not filled in.") % values
        subject = _("Diary for %(name)s, %(day)s") % values
        return {"subject": subject, "title": title, "lead": lead, "late": ago > 0}
    values["tests"] = tests_named(reminder.panels)
    title = _("Blood tests for %(name)s") % values
    if reminder.kind == ReminderKind.TEST_OVERDUE and ago > 0:
        subject = _("%(name)s: %(tests)s overdue since %(day)s") % values
    elif ago < -1:
        subject = _("%(name)s: %(tests)s due on %(day)s") % values
    elif ago == -1:
        subject = _("%(name)s: %(tests)s due tomorrow") % values
    elif ago == 0:
        subject = _("%(name)s: %(tests)s due today") % values
    elif ago == 1:
        subject = _("%(name)s: %(tests)s were due yesterday") % values
    else:
        subject = _("%(name)s: %(tests)s were due on %(day)s") % values
    if ago < -1:
        lead = _("Blood tests for %(name)s are due on %(day)s: %(tests)s.") % values
    elif ago == -1:
        lead = _("Blood tests for %(name)s are due tomorrow, %(day)s: %(tests)s.") % values
    elif ago == 0:
        lead = _("Blood tests for %(name)s are due today, %(day)s: %(tests)s.") % values
    elif ago == 1:
        lead = _("Blood tests for %(name)s were due yesterday, %(day)s: %(tests)s.") % values
    else:
        lead = _("Blood tests for %(name)s were due on %(day)s: %(tests)s.") % values
    late = send_day(reminder) < today
    return {"subject": subject, "title": title, "lead": lead, "late": late, "past": ago > 0}


def link_for(reminder: Reminder) -> str:
    child = reminder.child
    if reminder.kind == ReminderKind.DIARY:
        return reverse("day", args=[child.pk]) + f"?date={reminder.due_date.isoformat()}"
    if reminder.kind in TEST_KINDS:
        return reverse("labs", args=[child.pk])
    return reverse("child_detail", args=[child.pk]) if child else reverse("dashboard")


def push_payload(reminder: Reminder, today: date) -> dict:
    """What the phone shows: the first name, the tests or the diary, the page to open."""
    words = wording(reminder, today)
    return {
        "title": words["title"],
        "body": words["lead"],
        "url": link_for(reminder),
        "tag": f"reminder-{reminder.pk}",
    }


# --- Sending ---------------------------------------------------------------------------------


def _held_by(now: datetime, expected: int | None, lease: datetime | None) -> Q:
    """Rows a task may claim: those still to send, and the one it holds itself: by the
    attempts count of a retry's claim (EXPECTED) or the queue's lease it was published with."""
    mine = _to_send(now)
    if expected is not None:
        mine |= Q(status=ReminderStatus.CLAIMED, attempts=expected)
    if lease is not None:
        mine |= Q(status=ReminderStatus.CLAIMED, lease_until=lease)
    return mine


def claim(
    pk: int,
    now: datetime | None = None,
    expected: int | None = None,
    lease: datetime | None = None,
) -> Reminder | None:
    """Take the row for sending; None when another worker has it or it is done."""
    now = now or timezone.now()
    claimed = Reminder.objects.filter(_held_by(now, expected, lease), pk=pk).update(
        status=ReminderStatus.CLAIMED, lease_until=now + LEASE, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    return Reminder.objects.select_related("recipient", "child", "child__site").get(pk=pk)


def hold(
    expected: dict[int, int | None], until: datetime, lease: datetime | None = None
) -> dict[int, int]:
    """Keep the rows of a retry claimed until UNTIL (its countdown plus a lease), so that no
    sweep queues them meanwhile. EXPECTED: {row: attempts of the claim this chain holds, or
    None for a row it holds by the queue's LEASE, not tried yet}. Returns {row: attempts of
    the new claim} for the rows it still holds."""
    now = timezone.now()
    held = {}
    for pk, attempts in expected.items():
        if Reminder.objects.filter(_held_by(now, attempts, lease), pk=pk).update(
            status=ReminderStatus.CLAIMED, lease_until=until, attempts=F("attempts") + 1
        ):
            held[pk] = Reminder.objects.values_list("attempts", flat=True).get(pk=pk)
    return held


def _channels(reminder: Reminder) -> tuple[bool, bool]:
    """(email, push) for this reminder, as its recipient wants it now."""
    person = reminder.recipient
    chosen = {
        ReminderKind.DIARY: person.diary_reminder_channel,
        **dict.fromkeys(TEST_KINDS, person.test_reminder_channel),
    }.get(reminder.kind, Channel.EMAIL)  # clinicians' and administrators' emails
    email = chosen in (Channel.EMAIL, Channel.BOTH)
    push = chosen in (Channel.NOTIFICATION, Channel.BOTH) and reminder.kind in CAREGIVER_KINDS
    return email, push and person.push_subscriptions.exists()


def _not_needed(reminder: Reminder, today: date | None) -> str:
    """Why a caregiver's reminder should not go out any more, or ""."""
    person = reminder.recipient
    if not person.is_active:
        return "account inactive"
    if reminder.kind == ReminderKind.DIARY:
        if person.diary_reminder_time is None:
            return "diary reminder turned off"
        if DiaryEntry.objects.filter(child_id=reminder.child_id, date=reminder.due_date).exists():
            return "diary filled in"
    elif reminder.kind in TEST_KINDS and not person.test_reminders:
        return "blood-test reminders turned off"
    if today and (today - send_day(reminder)).days > settings.REMINDER_MAX_LATE_DAYS:
        return f"more than {settings.REMINDER_MAX_LATE_DAYS} days late"
    return ""


def _finish(reminder: Reminder, status: str, error: str = "") -> None:
    Reminder.objects.filter(pk=reminder.pk).update(
        status=status,
        lease_until=None,
        last_error=error[:500],
        sent_at=timezone.now() if status == ReminderStatus.SENT else None,
    )


def send_one(pk: int, expected: int | None = None, lease: datetime | None = None) -> bool:
    """Claim, send and record one reminder. True when this call sent it.

    Raises TransientSendError when it is worth trying later; the row then stays claimed for
    the caller's retry (or until its lease runs out)."""
    reminder = claim(pk, expected=expected, lease=lease)
    if reminder is None:
        return False
    today = reminder.child.today() if reminder.child else None
    if reminder.kind in CAREGIVER_KINDS:
        why = _not_needed(reminder, today)
        if why:
            _finish(reminder, ReminderStatus.SKIPPED, why)
            return False
    by_email, by_push = _channels(reminder)
    errors, retry = [], None
    if by_email and reminder.emailed_at is None:
        if reminder.recipient.email_bounced_at or not reminder.recipient.email:
            errors.append("address refused earlier" if reminder.recipient.email else "no address")
        else:
            try:
                deliver(reminder)
            except smtplib.SMTPRecipientsRefused as error:
                codes = [code for code, _msg in error.recipients.values()]
                if codes and all(500 <= code < 600 for code in codes):
                    _refused(reminder)
                    errors.append(f"refused permanently: {codes}")
                else:
                    retry = TransientSendError(f"refused for now: {codes}")
            except smtplib.SMTPResponseException as error:
                message = f"{error.smtp_code} {error.smtp_error!r}"
                if 500 <= error.smtp_code < 600:
                    # Our sender address refused is no fault of the recipient's address.
                    if not isinstance(error, smtplib.SMTPSenderRefused):
                        _refused(reminder)
                    errors.append(message)
                else:  # 421: the server is closing; other 4xx: this message, later
                    retry = TransientSendError(message, server=error.smtp_code == 421)
            except (smtplib.SMTPException, OSError) as error:
                retry = TransientSendError(repr(error), server=True)
            else:
                reminder.emailed_at = timezone.now()
                Reminder.objects.filter(pk=pk).update(emailed_at=reminder.emailed_at)
    if by_push and reminder.pushed_at is None:
        with translation.override(reminder.recipient.language):
            payload = push_payload(reminder, today)
        outcome = webpush.send(reminder.recipient, payload, topic=f"reminder-{pk}")
        if outcome.delivered or outcome.done:
            if outcome.delivered:
                reminder.pushed_at = timezone.now()
                Reminder.objects.filter(pk=pk).update(pushed_at=reminder.pushed_at)
            else:
                errors.append("no device took the notification")
        elif retry is None:
            retry = TransientSendError(f"push: {outcome.retry}")
    if retry is not None:
        Reminder.objects.filter(pk=pk).update(last_error=str(retry)[:500])
        retry.attempts = reminder.attempts
        raise retry
    if reminder.emailed_at or reminder.pushed_at:
        _finish(reminder, ReminderStatus.SENT, "; ".join(errors))
        return True
    _finish(reminder, ReminderStatus.FAILED, "; ".join(errors) or "no way to reach them")
    return False


def _refused(reminder: Reminder) -> None:
    """A permanent refusal: no more emails to that address, and one notice to the site
    administrators per refused address (however many emails to it were queued)."""
    today = timezone.localdate()
    with transaction.atomic():
        first = User.objects.filter(pk=reminder.recipient_id, email_bounced_at__isnull=True).update(
            email_bounced_at=timezone.now()
        )
        if not first:
            return
        site_id = reminder.child.site_id if reminder.child else None
        admins = SiteMembership.objects.filter(role=Role.SITE_ADMIN, user__is_active=True)
        if site_id:
            admins = admins.filter(site_id=site_id)
        notices = [
            Reminder(
                recipient_id=admin,
                kind=ReminderKind.BOUNCE,
                test=f"user-{reminder.recipient_id}",
                due_date=today,
            )
            for admin in User.objects.filter(pk__in=admins.values("user_id"))
            .exclude(pk=reminder.recipient_id)
            .exclude(email="")
            .values_list("pk", flat=True)
        ]
        Reminder.objects.bulk_create(notices, ignore_conflicts=True)
    logger.warning("reminder %s: address refused permanently", reminder.pk)
    for pk in Reminder.objects.filter(
        kind=ReminderKind.BOUNCE,
        test=f"user-{reminder.recipient_id}",
        due_date=today,
        status=ReminderStatus.PENDING,
    ).values_list("pk", flat=True):
        try:
            send_one(pk)
        except TransientSendError:
            logger.warning("could not tell a site administrator about a bounce yet: it waits")


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
    """Email REMINDER to its recipient, in their language."""
    person = reminder.recipient
    child = reminder.child
    what = {
        ReminderKind.DIARY: "diary",
        ReminderKind.THRESHOLD: None,  # urgent: changed on the preferences page, signed in
        ReminderKind.DIGEST: "digest",
        ReminderKind.BOUNCE: None,
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
    context = {
        "reminder": reminder,
        "child": child,
        "person": person,
        "link": settings.SITE_URL + link_for(reminder),
        "unsubscribe": unsubscribe,
        "preferences": settings.SITE_URL + reverse("reminder_preferences"),
        "panel": reminder.test,
        "site_url": settings.SITE_URL,
    }
    if reminder.kind == ReminderKind.BOUNCE:
        context["person"] = User.objects.get(pk=int(reminder.test.removeprefix("user-")))
    template = {
        ReminderKind.DIARY: "diary_reminder",
        ReminderKind.THRESHOLD: "threshold_alert",
        ReminderKind.DIGEST: "weekly_digest",
        ReminderKind.BOUNCE: "bounce_notice",
    }.get(reminder.kind, "test_reminder")
    if reminder.kind in CAREGIVER_KINDS:
        with translation.override(person.language):
            context["words"] = wording(reminder, child.today())
    emails.send(template, person.email, context, person.language, headers=headers)
