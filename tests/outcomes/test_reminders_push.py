"""Notifications on the phone (Web Push): a real push service on 127.0.0.1 receives what
pywebpush sends, checks its VAPID signature and decrypts it with the keys of a subscription the
test made. Nothing of the sending library is replaced."""

import json
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.urls import reverse

from diary.models import Channel, PushSubscription
from outcomes import reminders
from outcomes.models import Reminder, ReminderKind, ReminderStatus
from tests.conftest import login, make_user, prescribe
from tests.push_service import PushService

LONDON = ZoneInfo("Europe/London")
MORNING = datetime(2026, 3, 16, 10, 0, tzinfo=LONDON)  # Amy's week-2 bloods are due today


@pytest.fixture
def service(settings):
    settings.PUSH_SERVICE_HOSTS = ["127.0.0.1"]
    running = PushService.start()
    yield running
    running.stop()


def subscribe(client, user, device) -> int:
    login(client, user)
    response = client.post(
        reverse("push_subscribe"),
        json.dumps(device.info),
        content_type="application/json",
        HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.fixture
def diary_by_push(world, client, service):
    """Alice wants the diary reminder at 07:00 as a notification, on one phone."""
    alice = world.alice
    alice.diary_reminder_time = time(7, 0)
    alice.diary_reminder_channel = Channel.NOTIFICATION
    alice.save()
    phone = service.device()
    subscribe(client, alice, phone)
    return phone


def send_all() -> list[bool]:
    return [reminders.send_one(pk) for pk in Reminder.objects.values_list("pk", flat=True)]


def test_a_diary_reminder_reaches_the_phone_signed_and_encrypted(world, service, diary_by_push):
    with time_machine.travel(MORNING, tick=False):
        assert reminders.sweep() == 0  # queued after the test's transaction: sent by hand here
        assert send_all() == [True]
    (got,) = service.wait(1)
    amy = world.amy
    assert got.device is diary_by_push
    assert got.vapid_key == settings.VAPID_PUBLIC_KEY  # signed with the app's key
    assert got.claims["aud"] == service.origin and got.claims["sub"].startswith("mailto:")
    assert got.payload == {
        "title": "Diary for Amy",
        "body": "Today's diary for Amy is not filled in yet.",
        "url": f"/children/{amy.pk}/diary/?date=2026-03-16",
        "tag": f"reminder-{Reminder.objects.get().pk}",
    }
    assert got.headers["ttl"] == str(settings.PUSH_TTL_SECONDS)
    assert got.headers["topic"] == f"reminder-{Reminder.objects.get().pk}"
    assert mail.outbox == []  # notification only
    row = Reminder.objects.get()
    assert row.status == ReminderStatus.SENT and row.pushed_at and row.emailed_at is None
    assert PushSubscription.objects.get().last_sent is not None


def test_the_payload_names_the_first_name_and_the_tests_never_a_result(world, client, service):
    from outcomes.labs import record_lab

    alice = world.alice
    alice.language = "fr"
    alice.test_reminders = True
    alice.test_reminder_channel = Channel.NOTIFICATION
    alice.save()
    phone = service.device()
    subscribe(client, alice, phone)
    prescribe(world.amy, start=date(2026, 1, 19))  # week 8 on 16 March: bloods and lipids
    record_lab(world.amy, world.carol, "hb", date(2026, 2, 2), "7.1", "g/dL")
    with time_machine.travel(MORNING, tick=False):
        reminders.sweep()
        send_all()
    (got,) = service.wait(1)
    text = json.dumps(got.payload, ensure_ascii=False)
    assert got.payload["title"] == "Prises de sang pour Amy"
    assert "bilan lipidique" in got.payload["body"] and "lundi 16 mars 2026" in got.payload["body"]
    assert got.payload["url"] == f"/children/{world.amy.pk}/labs/"
    for secret in ("Test", "7.1", "7,1", "Hb", "alice", "North"):  # surname, result, site
        assert secret not in text


def test_both_channels_each_go_once_even_when_the_push_is_retried(world, service, diary_by_push):
    world.alice.diary_reminder_channel = Channel.BOTH
    world.alice.save()
    service.answer(diary_by_push, 503)  # the push service is busy
    with time_machine.travel(MORNING, tick=False):
        reminders.sweep()
        pk = Reminder.objects.get().pk
        with pytest.raises(reminders.TransientSendError) as raised:
            reminders.send_one(pk)
        assert len(mail.outbox) == 1 and service.received == []
        service.answer(diary_by_push, None)
        assert reminders.send_one(pk, expected=raised.value.attempts) is True
    assert len(mail.outbox) == 1  # the retry did not email again
    assert len(service.wait(1)) == 1
    assert service.refused == [(503, "told to")]


@pytest.mark.parametrize("status", [404, 410])
def test_an_expired_subscription_is_removed(world, service, diary_by_push, status):
    service.answer(diary_by_push, status)
    with time_machine.travel(MORNING, tick=False):
        reminders.sweep()
        assert send_all() == [False]
    assert not PushSubscription.objects.exists()
    row = Reminder.objects.get()
    assert row.status == ReminderStatus.FAILED and "no device" in row.last_error
    # With no device left, the next day makes no row: nobody could receive it.
    with time_machine.travel(datetime(2026, 3, 17, 10, 0, tzinfo=LONDON), tick=False):
        reminders.sweep()
    assert Reminder.objects.count() == 1


def test_a_device_shared_by_two_accounts_belongs_to_the_latest(world, client, service):
    phone = service.device()
    subscribe(client, world.alice, phone)
    subscribe(client, world.bob, phone)
    assert list(PushSubscription.objects.values_list("user__username", flat=True)) == ["bob"]


@pytest.mark.parametrize(
    "change",
    [
        {"endpoint": "https://evil.example.org/push/x"},  # not a push service
        {"endpoint": "http://fcm.googleapis.com/fcm/send/x"},  # plain HTTP
        {"endpoint": "https://user:pw@fcm.googleapis.com/x"},
        {"endpoint": "ftp://127.0.0.1/x"},
        {"endpoint": "https://fcm.googleapis.com.evil.org/x"},
        {"keys": {"p256dh": "AAAA", "auth": "AAAA"}},
        {"keys": {"p256dh": "BA" + "A" * 85, "auth": "A" * 22}},  # not a point of P-256
        {"keys": None},
        {"endpoint": "https://fcm.googleapis.com/" + "x" * 1100},
    ],
)
def test_subscriptions_are_refused_unless_to_a_push_service_with_real_keys(
    world, client, service, change
):
    body = {**service.device().info, **change}
    login(client, world.alice)
    response = client.post(
        reverse("push_subscribe"), json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400 and "error" in response.json()
    assert not PushSubscription.objects.exists()


def test_the_subscribe_url_takes_json_only_and_posts_only(world, client):
    login(client, world.alice)
    assert client.get(reverse("push_subscribe")).status_code == 405
    assert client.post(reverse("push_subscribe"), {"endpoint": "x"}).status_code == 400
    assert client.post(reverse("push_subscribe"), "[1]", "application/json").status_code == 400
    client.logout()
    assert client.post(reverse("push_subscribe"), "{}", "application/json").status_code == 302


def test_a_device_is_turned_off_by_its_owner_only(world, client, service):
    phone = service.device()
    pk = subscribe(client, world.alice, phone)
    login(client, world.bob)
    assert client.post(reverse("push_device_remove", args=[pk])).status_code == 404
    off = client.post(
        reverse("push_unsubscribe"), {"endpoint": phone.endpoint}, content_type="application/json"
    )
    assert off.status_code == 404 and PushSubscription.objects.count() == 1
    login(client, world.alice)
    page = client.get(reverse("reminder_preferences")).content.decode()
    assert "Chrome · Android" in page and settings.VAPID_PUBLIC_KEY in page
    assert client.post(reverse("push_device_remove", args=[pk])).status_code == 302
    assert not PushSubscription.objects.exists()


def test_the_page_says_when_notifications_are_chosen_but_no_device_has_them(world, client):
    login(client, world.alice)
    response = client.post(
        reverse("reminder_preferences"),
        {"test_reminders": "on", "test_reminder_channel": "notification"},
        follow=True,
    )
    text = response.content.decode()
    assert "No device has notifications turned on yet" in text and 'id="no-device"' in text
    world.alice.refresh_from_db()
    assert world.alice.test_reminder_channel == "notification"


def test_the_vapid_key_is_required_in_production_and_must_parse(tmp_path):
    from django.core.exceptions import ImproperlyConfigured

    from config.env import generated_vapid_key, vapid_public_key

    key = generated_vapid_key(tmp_path / "vapid")
    assert generated_vapid_key(tmp_path / "vapid") == key  # made once
    public = vapid_public_key(key)
    assert len(public) == 87 and public.startswith("B")  # 65 bytes, uncompressed point
    with pytest.raises(ImproperlyConfigured, match="VAPID_PRIVATE_KEY"):
        vapid_public_key("not a key")


def test_a_push_only_caregiver_is_reminded_without_an_email_address(world, service, client):
    nobody = make_user("noemail", diary_reminder_time=time(7, 0))
    nobody.email = ""
    nobody.diary_reminder_channel = Channel.NOTIFICATION
    nobody.save()
    world.amy.care_links.create(caregiver=nobody, relationship="father")
    subscribe(client, nobody, service.device())
    with time_machine.travel(MORNING, tick=False):
        reminders.sweep()
        assert Reminder.objects.filter(recipient=nobody, kind=ReminderKind.DIARY).count() == 1
        send_all()
    assert len(service.wait(1)) == 1 and mail.outbox == []


def test_a_caregiver_keeps_at_most_ten_devices_the_oldest_makes_room(world, client, service):
    from diary import webpush

    first = subscribe(client, world.alice, service.device())
    for _n in range(webpush.MAX_DEVICES):
        subscribe(client, world.alice, service.device())
    devices = PushSubscription.objects.filter(user=world.alice)
    assert devices.count() == webpush.MAX_DEVICES and not devices.filter(pk=first).exists()
