"""Lab entry, flags, the reminder sweep (exactly once) and sending (claim, bounce, unsubscribe)."""

import smtplib
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from outcomes import reminders
from outcomes.models import LabFlag, LabResult, Reminder, ReminderKind, ReminderStatus
from tests.conftest import login, prescribe

LONDON = ZoneInfo("Europe/London")


def panel(client, child, **values):
    data = {"sample_date": child.today().isoformat()}
    for key, value in values.items():
        data[key] = value
    return client.post(reverse("lab_panel_create", args=[child.pk]), data)


def test_a_panel_is_converted_and_flagged(world, client):
    prescribe(world.amy, start=world.amy.today() - timedelta(days=30))
    login(client, world.carol)
    response = panel(
        client,
        world.amy,
        hb="75",
        hb_unit="g/L",
        neutrophils="900",
        neutrophils_unit="cells/µL",
        bk_plasma="20000",
        bk_plasma_unit="copies/mL",
    )
    assert response.status_code == 302
    values = dict(LabResult.objects.values_list("analyte", "value"))
    assert values == {
        "hb": Decimal("7.500"),
        "neutrophils": Decimal("0.900"),
        "bk_plasma": Decimal("4.301"),
    }
    codes = set(LabFlag.objects.values_list("code", flat=True))
    assert {"bari-low-hb", "bari-low-neutrophils", "bk-over-4"} <= codes
    # The clinicians of the site are emailed once about it (no values in the email).
    assert Reminder.objects.filter(kind=ReminderKind.THRESHOLD).count() == 2  # carol, sam


def test_alt_and_bilirubin_on_one_panel_raise_the_combined_flag(world, client):
    # ALT over 3 × ULN counts with bilirubin over 2 × ULN the same day (§6.7), whichever of
    # the two the panel saves first.
    prescribe(world.amy, start=world.amy.today() - timedelta(days=30))
    login(client, world.carol)
    response = panel(
        client,
        world.amy,
        alt="150",
        alt_unit="U/L",
        alt_uln="40",
        bilirubin="50",
        bilirubin_unit="µmol/L",
        bilirubin_uln="21",
    )
    assert response.status_code == 302
    flags = LabFlag.objects.filter(result__analyte="alt")
    assert list(flags.values_list("code", flat=True)) == ["bari-high-alt-bilirubin"]
    assert Reminder.objects.filter(kind=ReminderKind.THRESHOLD).count() == 2  # carol, sam


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"hb": "300", "hb_unit": "g/dL"}, "is not a possible value"),
        ({"platelets": "-4", "platelets_unit": "×10⁹/L"}, "cannot be negative"),
        ({"crp": "lots", "crp_unit": "mg/L"}, "Enter a number"),
    ],
)
def test_bad_results_store_nothing(world, client, values, message):
    login(client, world.carol)
    response = panel(client, world.amy, esr="12", esr_unit="mm/h", **values)
    assert response.status_code == 400 and message in response.content.decode()
    assert not LabResult.objects.exists()


def test_future_sample_date_is_refused(world, client):
    login(client, world.carol)
    response = client.post(
        reverse("lab_panel_create", args=[world.amy.pk]),
        {
            "sample_date": (world.amy.today() + timedelta(days=2)).isoformat(),
            "esr": "10",
            "esr_unit": "mm/h",
        },
    )
    assert response.status_code == 400 and not LabResult.objects.exists()


def test_caregiver_results_are_marked_and_only_clinicians_acknowledge(world, client):
    login(client, world.alice)
    panel(client, world.amy, hb="7", hb_unit="g/dL")
    result = LabResult.objects.get()
    assert result.caregiver_entered
    flag = LabFlag.objects.get(code="bari-no-start-hb")
    assert client.post(reverse("flag_acknowledge", args=[flag.pk])).status_code == 403
    login(client, world.carol)
    client.post(reverse("flag_acknowledge", args=[flag.pk]))
    flag.refresh_from_db()
    assert flag.acknowledged_by == world.carol
    login(client, world.dan)
    assert client.post(reverse("flag_acknowledge", args=[flag.pk])).status_code == 404


@pytest.fixture
def due_child(world):
    """Amy started baricitinib on 2 March 2026: week 2 bloods are due on 16 March."""
    prescribe(world.amy, start=datetime(2026, 3, 2).date())
    world.alice.test_reminders = True
    world.alice.save()
    return world.amy


def test_sweep_makes_each_reminder_once(due_child, django_capture_on_commit_callbacks):
    # 9 March, 10:00 in London: seven days before.
    with (
        time_machine.travel(datetime(2026, 3, 9, 10, 0, tzinfo=LONDON)),
        django_capture_on_commit_callbacks(execute=False),
    ):
        reminders.sweep()
        reminders.sweep()
    rows = list(Reminder.objects.values_list("kind", "test", "due_date"))
    assert rows == [(ReminderKind.TEST_BEFORE, "bloods", datetime(2026, 3, 16).date())]
    # Before the family's reminder hour nothing is made.
    with time_machine.travel(datetime(2026, 3, 16, 7, 0, tzinfo=LONDON)):
        reminders.sweep()
    assert Reminder.objects.count() == 1
    with time_machine.travel(datetime(2026, 3, 16, 9, 30, tzinfo=LONDON)):
        reminders.sweep()
    assert Reminder.objects.filter(kind=ReminderKind.TEST_DUE).count() == 1


def test_a_done_test_is_not_reminded(due_child, world):
    from outcomes.schedule import GROUPS

    for analyte, *_others in GROUPS["bloods"]:  # done: a result for each of its analytes
        LabResult.objects.create(
            child=due_child,
            sample_date=datetime(2026, 3, 13).date(),
            analyte=analyte,
            value=11,
            unit="u",
            entered_value=11,
            entered_unit="u",
        )
    with time_machine.travel(datetime(2026, 3, 16, 10, 0, tzinfo=LONDON)):
        reminders.sweep()
    assert not Reminder.objects.exists()


def test_send_claims_once_and_sends_once(due_child):
    with time_machine.travel(datetime(2026, 3, 16, 10, 0, tzinfo=LONDON)):
        reminders.sweep()
        pk = Reminder.objects.get().pk
        assert reminders.send_one(pk) is True
        assert reminders.send_one(pk) is False  # a second worker, or a retried task
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.org"] and "Amy" in message.subject
    assert "List-Unsubscribe" in message.extra_headers
    assert "One-Click" in message.extra_headers["List-Unsubscribe-Post"]
    assert Reminder.objects.get().status == ReminderStatus.SENT


def test_an_expired_lease_is_claimed_again(due_child):
    with time_machine.travel(datetime(2026, 3, 16, 10, 0, tzinfo=LONDON)):
        reminders.sweep()
        pk = Reminder.objects.get().pk
        assert reminders.claim(pk) is not None  # a worker took it, then died
        assert reminders.claim(pk) is None
    with time_machine.travel(datetime(2026, 3, 16, 10, 11, tzinfo=LONDON)):
        assert reminders.claim(pk) is not None


def test_a_permanent_refusal_stops_reminders_to_that_address(due_child, monkeypatch, world):
    travel = time_machine.travel(datetime(2026, 3, 16, 10, 0, tzinfo=LONDON))
    travel.start()
    reminders.sweep()
    pk = Reminder.objects.get().pk
    deliver = reminders.deliver

    def refuse(reminder):
        if reminder.recipient.email == "alice@example.org":
            raise smtplib.SMTPRecipientsRefused({"alice@example.org": (550, b"no such user")})
        deliver(reminder)

    monkeypatch.setattr(reminders, "deliver", refuse)
    assert reminders.send_one(pk) is False
    travel.stop()
    world.alice.refresh_from_db()
    assert world.alice.email_bounced_at is not None
    assert Reminder.objects.get(pk=pk).status == ReminderStatus.FAILED
    # The site administrator is told once, through a row of its own.
    notice = Reminder.objects.get(kind=ReminderKind.BOUNCE)
    assert notice.recipient == world.sam and notice.status == ReminderStatus.SENT
    assert [m.to for m in mail.outbox if "stopped working" in m.subject] == [[world.sam.email]]


def test_a_temporary_failure_is_released_for_a_retry(due_child, monkeypatch):
    with time_machine.travel(datetime(2026, 3, 16, 10, 0, tzinfo=LONDON), tick=False):
        reminders.sweep()
        pk = Reminder.objects.get().pk

        def later(reminder):
            raise smtplib.SMTPDataError(451, b"try again later")

        monkeypatch.setattr(reminders, "deliver", later)
        with pytest.raises(reminders.TransientSendError) as raised:
            reminders.send_one(pk)
        # The row stays claimed for its retry: no sweep queues it meanwhile.
        row = Reminder.objects.get()
        assert row.status == ReminderStatus.CLAIMED and raised.value.attempts == row.attempts
        assert not raised.value.server  # this message, not the whole server
        assert reminders.queue_pending()[1] == 0
        monkeypatch.undo()
        assert reminders.send_one(pk) is False  # a stray copy of the task: the claim is held
        assert reminders.send_one(pk, expected=row.attempts) is True  # the retry


def test_one_click_unsubscribe(world, client):
    world.alice.test_reminders = True
    world.alice.save()
    url = reminders.unsubscribe_url(world.alice, "tests").removeprefix("http://127.0.0.1:8000")
    assert client.get(url).status_code == 200
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    world.alice.refresh_from_db()
    assert world.alice.test_reminders is False
    assert client.get("/unsubscribe/forged/").status_code == 404


def test_labs_page_shows_the_next_test_and_strangers_get_404(due_child, world, client):
    login(client, world.alice)
    page = client.get(reverse("labs", args=[due_child.pk])).content.decode()
    assert 'id="next-due"' in page and "SPARN JAKi guideline §6.7" in page
    login(client, world.bob)
    assert client.get(reverse("labs", args=[due_child.pk])).status_code == 404


def test_lab_values_read_as_entered_in_the_readers_format(world, client):
    from outcomes.labs import record_lab
    from outcomes.templatetags.outcomes import measured

    amy, today = world.amy, world.amy.today()
    record_lab(amy, world.carol, "hb", today, Decimal("75"), "g/L")  # stored as 7.500 g/dL
    record_lab(amy, world.carol, "platelets", today, Decimal("250"), "10^9/L")
    login(client, world.carol)
    page = client.get(reverse("labs", args=[amy.pk])).content.decode()
    assert "7.5 g/dL" in page and "7.500" not in page
    assert "250 " in page and "250.000" not in page
    stored = ("0.050", "100.000", "12.340")
    assert [measured(Decimal(v)) for v in stored] == ["0.05", "100", "12.34"]
    with translation.override("fr"):
        assert measured(Decimal("7.500")) == "7,5"


def test_tests_done_long_ago_are_not_overdue(world):
    """A child treated for three years with every test done has nothing overdue, on the
    dashboard's count as on the labs page (results older than two years count too)."""
    from diary.models import Child
    from outcomes.labs import child_schedule
    from outcomes.schedule import GROUPS, overdue

    amy, today = world.amy, world.amy.today()
    prescribe(amy, start=today - timedelta(days=3 * 365))
    due = [d for d in child_schedule(amy) if d.due < today]
    assert min(d.due for d in due) < today - timedelta(days=2 * 365)
    for item in due:
        for analyte, *_others in GROUPS[item.panel]:
            LabResult.objects.create(
                child=amy,
                sample_date=item.due,
                analyte=analyte,
                value=Decimal("1.0"),
                unit="u",
                entered_value=Decimal("1.0"),
                entered_unit="u",
            )
    assert overdue(child_schedule(amy), today) == []
    assert reminders.overdue_counts(Child.objects.filter(pk=amy.pk), today) == {amy.pk: 0}
    assert reminders.overdue_by_site(today) == {}


def test_sweep_queries_do_not_grow_when_reminders_are_made(world):
    """The same, on the path that makes rows: opted-in caregivers, week-2 bloods due today,
    and diary reminders whose time has passed, for 3 and then 12 children."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from diary.models import CareLink
    from tests.conftest import make_child, make_user

    def family(n):
        child = make_child(world.north, f"Kid{n}")
        prescribe(child, start=datetime(2026, 3, 2).date())
        parent = make_user(f"parent{n}", test_reminders=True, diary_reminder_time=time(7, 0))
        CareLink.objects.create(caregiver=parent, child=child, relationship="mother")

    def sweep():
        Reminder.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            reminders.sweep()
        return len(queries), Reminder.objects.count()

    with time_machine.travel(datetime(2026, 3, 16, 10, 0, tzinfo=LONDON)):
        for n in range(3):
            family(n)
        few, made = sweep()
        assert made == 6  # a blood test and a diary reminder each
        for n in range(3, 12):
            family(n)
        many, made = sweep()
        assert made == 24
    assert many == few


def test_weekly_digest_goes_once_to_each_clinician_with_results_to_review(
    world, django_capture_on_commit_callbacks
):
    from diary.models import Role, SiteMembership
    from outcomes.labs import record_lab
    from tests.conftest import make_user

    # South's clinician has nothing to review; north's administrator turned the emails off.
    sue = make_user("sue")
    SiteMembership.objects.create(user=sue, site=world.south, role=Role.CLINICIAN)
    world.sam.clinical_emails = world.sam.digest_emails = False
    world.sam.save()
    with django_capture_on_commit_callbacks(execute=False):
        record_lab(world.amy, world.carol, "hb", world.amy.today(), Decimal("7.5"), "g/dL")
        assert reminders.weekly_digest() >= 1
        reminders.weekly_digest()
    digests = Reminder.objects.filter(kind=ReminderKind.DIGEST)
    assert list(digests.values_list("recipient__username", "test")) == [
        ("carol", f"site-{world.north.pk}")
    ]
    # The immediate alert went to carol only, once, whatever the number of calls.
    alerts = Reminder.objects.filter(kind=ReminderKind.THRESHOLD)
    assert list(alerts.values_list("recipient__username", flat=True)) == ["carol"]
    mail.outbox.clear()
    assert reminders.send_one(digests.get().pk) is True
    assert reminders.send_one(digests.get().pk) is False
    (email,) = mail.outbox
    assert email.to == [world.carol.email] and "review" in email.subject
    body = email.body + "".join(str(c) for c, _type in email.alternatives)
    assert "/dashboard/" in body and "7.5" not in body and "Amy" not in body
    # Acknowledged and nothing overdue: next week there is no digest.
    LabFlag.objects.update(acknowledged_at=timezone.now(), acknowledged_by=world.carol)
    Reminder.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=False):
        assert reminders.weekly_digest() == 0
    assert not Reminder.objects.exists()


@pytest.mark.parametrize(
    ("error", "bounced"),
    [
        (smtplib.SMTPDataError(550, b"mailbox unavailable"), True),
        (smtplib.SMTPSenderRefused(550, b"sender refused", "diary@localhost"), False),
    ],
    ids=["recipient refused at DATA", "our sender refused"],
)
def test_a_refusal_stops_the_address_only_when_it_is_the_addresss(
    due_child, monkeypatch, world, error, bounced
):
    def refuse(reminder):
        raise error

    with time_machine.travel(datetime(2026, 3, 16, 10, 0, tzinfo=LONDON), tick=False):
        reminders.sweep()
        pk = Reminder.objects.get().pk
        monkeypatch.setattr(reminders, "deliver", refuse)
        assert reminders.send_one(pk) is False
    world.alice.refresh_from_db()
    assert (world.alice.email_bounced_at is not None) is bounced
    assert Reminder.objects.get(pk=pk).status == ReminderStatus.FAILED
    assert Reminder.objects.filter(kind=ReminderKind.BOUNCE).exists() is bounced
