"""Unsubscribe links stop reminders and digests, never a clinician's urgent alerts: whoever holds
a link (a forwarded email, a shared mailbox, a caregiver's own link) cannot turn those off."""

from datetime import time
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from outcomes import reminders
from outcomes.labs import record_lab
from outcomes.models import Reminder, ReminderKind
from tests.conftest import login


def path(user, what: str) -> str:
    return reminders.unsubscribe_url(user, what).removeprefix("http://127.0.0.1:8000")


def urgent_result(world):
    record_lab(world.amy, world.alice, "hb", world.amy.today(), Decimal("7.5"), "g/dL")


@pytest.mark.parametrize("what", ["alerts", "digest", "tests", "diary", "anything"])
def test_no_unsubscribe_link_turns_off_a_clinicians_urgent_alerts(world, client, what):
    response = client.post(path(world.carol, what), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    world.carol.refresh_from_db()
    assert world.carol.clinical_emails is True
    urgent_result(world)
    alerted = Reminder.objects.filter(kind=ReminderKind.THRESHOLD)
    assert "carol" in alerted.values_list("recipient__username", flat=True)


def test_a_caregivers_link_changes_only_the_caregivers_reminders(world, client):
    world.alice.test_reminders = True
    world.alice.save()
    for what in ("tests", "alerts", "digest"):
        client.post(path(world.alice, what))
    world.alice.refresh_from_db()
    world.carol.refresh_from_db()
    assert world.alice.test_reminders is False
    assert (world.carol.clinical_emails, world.carol.digest_emails) == (True, True)


def test_reminders_and_digests_still_unsubscribe(world, client):
    world.alice.test_reminders = True
    world.alice.diary_reminder_time = time(19, 0)
    world.alice.save()
    client.post(path(world.alice, "tests"), {"List-Unsubscribe": "One-Click"})
    page = client.post(path(world.alice, "diary"))
    assert page.status_code == 200
    world.alice.refresh_from_db()
    assert (world.alice.test_reminders, world.alice.diary_reminder_time) == (False, None)
    # The digest link (and an "alerts" link from an older email) stops the weekly digest.
    client.post(path(world.carol, "digest"))
    client.post(path(world.sam, "alerts"))
    urgent_result(world)  # a result to review: a digest is due
    reminders.weekly_digest()
    assert not Reminder.objects.filter(kind=ReminderKind.DIGEST).exists()


def test_an_urgent_alert_has_no_unsubscribe_link_and_a_digest_has_one(world):
    urgent_result(world)
    alert = Reminder.objects.filter(kind=ReminderKind.THRESHOLD, recipient=world.carol).get()
    mail.outbox.clear()
    assert reminders.send_one(alert.pk) is True
    (email,) = mail.outbox
    body = email.body + "".join(str(c) for c, _type in email.alternatives)
    assert "List-Unsubscribe" not in email.extra_headers
    assert "/unsubscribe/" not in body and reverse("reminder_preferences") in body
    Reminder.objects.all().delete()
    reminders.weekly_digest()
    digest = Reminder.objects.filter(kind=ReminderKind.DIGEST, recipient=world.carol).get()
    mail.outbox.clear()
    assert reminders.send_one(digest.pk) is True
    (email,) = mail.outbox
    assert "/unsubscribe/" in email.extra_headers["List-Unsubscribe"]


def test_the_signed_in_clinician_changes_urgent_alerts_and_the_digest_apart(world, client):
    login(client, world.carol)
    response = client.post(reverse("reminder_preferences"), {"clinical_emails": "on"})
    assert response.status_code == 302
    world.carol.refresh_from_db()
    assert (world.carol.clinical_emails, world.carol.digest_emails) == (True, False)


def test_a_family_is_not_offered_clinical_alerts_and_cannot_set_them(world, client):
    """The clinical alert and digest switches are the clinicians' own; a caregiver's page has
    none, and a post naming them changes nothing."""
    world.alice.clinical_emails = world.alice.digest_emails = True
    world.alice.save(update_fields=["clinical_emails", "digest_emails"])
    login(client, world.alice)
    page = client.get(reverse("reminder_preferences")).content.decode()
    assert 'name="clinical_emails"' not in page and 'name="digest_emails"' not in page
    assert 'name="test_reminders"' in page
    response = client.post(reverse("reminder_preferences"), {"test_reminders": "on"})
    assert response.status_code == 302
    world.alice.refresh_from_db()
    assert (world.alice.clinical_emails, world.alice.digest_emails) == (True, True)
    assert world.alice.test_reminders is True
    login(client, world.carol)
    assert 'name="clinical_emails"' in client.get(reverse("reminder_preferences")).content.decode()


def test_a_corrected_address_is_tried_again(world):
    from django.utils import timezone

    world.alice.email_bounced_at = timezone.now()
    world.alice.save(update_fields=["email_bounced_at"])
    world.alice.first_name = "Alicia"
    world.alice.save()  # another change keeps the pause
    world.alice.refresh_from_db()
    assert world.alice.email_bounced_at is not None
    world.alice.email = "alice.new@example.org"
    world.alice.save(update_fields=["email"])
    world.alice.refresh_from_db()
    assert world.alice.email_bounced_at is None
