"""One message per child, due date, kind and recipient, naming the tests and the date in the
recipient's language; never two rows for one message."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation

from diary.models import CareLink
from outcomes import reminders
from outcomes.models import Reminder, ReminderKind, ReminderStatus
from tests.conftest import login, make_user, prescribe

LONDON = ZoneInfo("Europe/London")
WEEK_8 = datetime(2026, 3, 16, 10, 0, tzinfo=LONDON)  # bloods and lipids due today


@pytest.fixture
def two_panels(world):
    """Amy started on 19 January: week 8 (16 March) asks for the bloods and the lipids. Her
    mother reads English, her father French."""
    prescribe(world.amy, start=date(2026, 1, 19))
    world.alice.test_reminders = True
    world.alice.save()
    papa = make_user("papa", test_reminders=True, language="fr")
    CareLink.objects.create(caregiver=papa, child=world.amy, relationship="father")
    return papa


def test_two_panels_due_the_same_day_are_one_message_naming_both(world, two_panels):
    with time_machine.travel(WEEK_8, tick=False):
        reminders.sweep()
        reminders.sweep()
        rows = Reminder.objects.order_by("recipient__username")
        assert [(r.recipient.username, r.kind, r.test, r.due_date) for r in rows] == [
            ("alice", ReminderKind.TEST_DUE, "bloods+lipids", date(2026, 3, 16)),
            ("papa", ReminderKind.TEST_DUE, "bloods+lipids", date(2026, 3, 16)),
        ]
        assert [reminders.send_one(r.pk) for r in rows] == [True, True]
    english, french = sorted(mail.outbox, key=lambda m: m.to)
    assert english.to == ["alice@example.org"]
    assert english.subject == (
        "Amy: FBC, U&Es, LFTs incl. bilirubin, CRP, ESR, lipid profile due today"
    )
    assert (
        "Blood tests for Amy are due today, Monday 16 March 2026: FBC, U&Es, LFTs incl. "
        "bilirubin, CRP, ESR, lipid profile." in english.body
    )
    assert f"/children/{world.amy.pk}/labs/" in english.body and "Test" not in english.body
    assert french.to == ["papa@example.org"]
    assert french.subject == (
        "Amy : NFS, urée et électrolytes, bilan hépatique avec bilirubine, CRP, VS, "
        "bilan lipidique prévus aujourd’hui"
    )
    assert "lundi 16 mars 2026" in french.body


def test_the_reminder_a_week_before_and_after_say_so(world, two_panels):
    with time_machine.travel(WEEK_8 - timedelta(days=7), tick=False):
        reminders.sweep()
        reminders.send_one(Reminder.objects.get(recipient=world.alice).pk)
    with time_machine.travel(WEEK_8 + timedelta(days=7), tick=False):
        reminders.sweep()
        reminders.send_one(
            Reminder.objects.get(recipient=world.alice, kind=ReminderKind.TEST_OVERDUE).pk
        )
    before, after = (m for m in mail.outbox if m.to == ["alice@example.org"])
    assert before.subject.endswith("lipid profile due on Monday 16 March 2026")
    assert after.subject.endswith("lipid profile overdue since Monday 16 March 2026")
    assert "We have no result for them yet" in after.body
    assert "We have no result" not in before.body


def test_one_row_per_child_due_date_kind_and_recipient_whatever_the_tests(world, two_panels):
    with time_machine.travel(WEEK_8, tick=False):
        reminders.sweep()
    row = Reminder.objects.get(recipient=world.alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(
            child=row.child,
            recipient=row.recipient,
            kind=row.kind,
            test="bloods",
            due_date=row.due_date,
        )
    # Other kinds keep their own key: two threshold alerts of one day about different things.
    for test in ("results", "flags"):
        Reminder.objects.create(
            child=row.child,
            recipient=world.carol,
            kind=ReminderKind.THRESHOLD,
            test=test,
            due_date=row.due_date,
        )


def test_the_labs_page_lists_each_message_with_its_tests(world, two_panels, client):
    with time_machine.travel(WEEK_8, tick=False):
        reminders.sweep()
    login(client, world.carol)  # the reminder log is the clinicians'
    page = client.get(reverse("labs", args=[world.amy.pk])).content.decode()
    assert "Blood count, kidney and liver tests, CRP and ESR, Cholesterol and triglycerides" in page


def test_a_diary_reminder_for_a_day_filled_in_meanwhile_is_not_sent(world):
    from datetime import time

    from diary.models import DiaryEntry

    world.alice.diary_reminder_time = time(7, 0)
    world.alice.save()
    with time_machine.travel(WEEK_8, tick=False):
        reminders.sweep()
        DiaryEntry.objects.create(
            child=world.amy, date=WEEK_8.date(), instrument_key="ags", instrument_version=1
        )
        assert reminders.send_one(Reminder.objects.get().pk) is False
    row = Reminder.objects.get()
    assert (row.status, row.last_error) == (ReminderStatus.SKIPPED, "diary filled in")
    assert mail.outbox == []


def test_a_reminder_turned_off_after_it_was_made_is_not_sent(world, two_panels):
    with time_machine.travel(WEEK_8, tick=False):
        reminders.sweep()
        world.alice.test_reminders = False
        world.alice.save()
        assert reminders.send_one(Reminder.objects.get(recipient=world.alice).pk) is False
    assert Reminder.objects.get(recipient=world.alice).status == ReminderStatus.SKIPPED


def test_tests_are_named_in_the_guidelines_words():
    with translation.override("en"):
        assert reminders.tests_named(["bloods", "bk_jc"]) == (
            "FBC, U&Es, LFTs incl. bilirubin, CRP, ESR, BK and JC virus PCR in plasma and urine"
        )
    with translation.override("fr"):
        assert reminders.tests_named(["lipids", "repeat_neutrophils"]) == (
            "bilan lipidique, neutrophiles (contrôle)"
        )


def test_links_in_emails_follow_site_url(world, two_panels, settings):
    settings.SITE_URL = "http://127.0.0.1:8123"
    with time_machine.travel(WEEK_8, tick=False):
        reminders.sweep()
        reminders.send_one(Reminder.objects.get(recipient=world.alice).pk)
    assert f"http://127.0.0.1:8123/children/{world.amy.pk}/labs/" in mail.outbox[0].body
    assert "127.0.0.1:8000" not in mail.outbox[0].body


def test_the_reminders_page_is_linked_from_the_home_and_account_pages(world, client):
    login(client, world.alice)
    url = reverse("reminder_preferences")
    for page in ("home", "account_security"):
        assert f'href="{url}"' in client.get(reverse(page)).content.decode(), page
    login(client, world.carol)
    assert f'href="{url}"' in client.get(reverse("home")).content.decode()
