"""Two-factor sign-in: required for staff, optional for caregivers; API tokens after the code."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from diary.twofactor import next_code
from tests.conftest import PASSWORD, complete_enrolment, login, make_user, totp_device

TOKEN = "/api/auth/token/"


def after_throttle():
    """django-otp slows down tries after a wrong code (1 s, 2 s, 4 s...): let 5 s pass."""
    return time_machine.travel(timezone.now() + timedelta(seconds=5), tick=True)


def sign_in(client, username, password=PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_clinician_enters_a_code_before_seeing_anything(world, client):
    device = totp_device(world.carol)
    assert sign_in(client, "carol").status_code == 302
    # Signed in with the password only: pages and the API refuse.
    page = client.get(reverse("child_detail", args=[world.amy.pk]))
    assert page.status_code == 302
    assert page.url == reverse("two_factor") + f"?next=/children/{world.amy.pk}/"
    assert client.get(reverse("dashboard")).url.startswith(reverse("two_factor"))
    api = client.get("/api/children/")
    assert api.status_code == 403 and "Two-factor" in api.json()["detail"]
    assert client.get(f"/api/children/{world.amy.pk}/").status_code == 403
    # A wrong code is refused with a clear message.
    wrong = client.post(reverse("two_factor"), {"code": "000000"})
    if next_code(device) == "000000":  # pragma: no cover - one chance in a million
        pytest.skip("the real code happens to be 000000")
    assert wrong.status_code == 200 and "That code is not right" in wrong.content.decode()
    assert client.get("/api/children/").status_code == 403
    # The right code opens everything and goes where the clinician was going.
    with after_throttle():
        done = client.post(
            reverse("two_factor"),
            {"code": next_code(device), "next": reverse("child_detail", args=[world.amy.pk])},
        )
    assert done.status_code == 302 and done.url == reverse("child_detail", args=[world.amy.pk])
    assert client.get(reverse("dashboard")).status_code == 200
    assert [c["first_name"] for c in client.get("/api/children/").json()["results"]] == ["Amy"]


def test_code_step_refuses_a_reused_code_and_a_foreign_next(world, client):
    device = totp_device(world.carol)
    sign_in(client, "carol")
    code = next_code(device)
    assert (
        client.post(reverse("two_factor"), {"code": code, "next": "https://evil.example/"}).url
        == "/"
    )
    client.post(reverse("logout"))
    sign_in(client, "carol")
    again = client.post(reverse("two_factor"), {"code": code})
    assert again.status_code == 200 and "That code is not right" in again.content.decode()


def test_staff_without_an_app_must_set_one_up(world, client):
    sign_in(client, "dan")
    page = client.get(reverse("home"))
    assert page.status_code == 302 and page.url.startswith(reverse("two_factor_setup"))
    setup = client.get(page.url)
    html = setup.content.decode()
    # The QR code is inline SVG; the key is there in text for typing by hand.
    assert "<svg" in html and 'class="qr"' in html
    device = TOTPDevice.objects.get(user=world.dan, confirmed=False)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    assert len(secret) == 32
    assert f"secret={secret}" in device.config_url
    # A reload keeps the same secret (the phone may already have it).
    assert secret in client.get(page.url).content.decode().replace(" ", "")
    bad = client.post(page.url, {"code": "12345"})
    assert bad.status_code == 200 and "That code is not right" in bad.content.decode()
    assert client.get(reverse("home")).status_code == 302
    with after_throttle():
        codes = complete_enrolment(client, world.dan)
    assert len(codes) == 10 and len(set(codes)) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("home")).status_code == 200
    # Shown once: the account page only counts them.
    security = client.get(reverse("account_security")).content.decode()
    assert "10 backup codes left" in security
    assert not any(code in security for code in codes)
    # Staff cannot turn it off.
    client.post(reverse("two_factor_disable"))
    assert TOTPDevice.objects.filter(user=world.dan, confirmed=True).exists()


def test_setting_up_is_not_a_way_round_an_existing_app(world, client):
    totp_device(world.carol)
    sign_in(client, "carol")
    # An unverified session cannot add a second app of its own.
    response = client.get(reverse("two_factor_setup"))
    assert response.status_code == 302
    assert client.get(response.url).url.startswith(reverse("two_factor"))
    assert not TOTPDevice.objects.filter(user=world.carol, confirmed=False).exists()


def test_backup_code_works_once(world, client):
    login(client, world.sam)  # signed in with his app; backup codes from the account page
    page = client.post(reverse("backup_codes_renew"))
    codes = page.context["codes"]
    client.post(reverse("logout"))
    sign_in(client, "sam")
    used = client.post(reverse("two_factor"), {"code": codes[0].upper()})
    assert used.status_code == 302
    assert "9 are left" in client.get(reverse("home")).content.decode()
    client.post(reverse("logout"))
    sign_in(client, "sam")
    again = client.post(reverse("two_factor"), {"code": codes[0]})
    assert again.status_code == 200 and "That code is not right" in again.content.decode()
    assert StaticToken.objects.filter(device__user=world.sam).count() == 9


def test_admin_needs_the_second_factor(world, client):
    boss = make_user("boss", is_staff=True, is_superuser=True)
    sign_in(client, "boss")
    assert client.get("/admin/").url.startswith(reverse("two_factor_setup"))
    complete_enrolment(client, boss)
    assert client.get("/admin/").status_code == 200


def test_caregiver_signs_in_with_a_password_and_may_add_an_app(world, client):
    response = sign_in(client, "alice")
    assert response.status_code == 302 and response.url == "/"
    assert client.get(reverse("day", args=[world.amy.pk])).status_code == 200
    security = client.get(reverse("account_security")).content.decode()
    assert "Set up two-factor sign-in" in security
    complete_enrolment(client, world.alice)
    client.post(reverse("logout"))
    # Now her sign-in needs the code too.
    sign_in(client, "alice")
    assert client.get(reverse("day", args=[world.amy.pk])).url.startswith(reverse("two_factor"))
    device = TOTPDevice.objects.get(user=world.alice, confirmed=True)
    client.post(reverse("two_factor"), {"code": next_code(device)})
    assert client.get(reverse("day", args=[world.amy.pk])).status_code == 200
    # And she may turn it off again.
    client.post(reverse("two_factor_disable"))
    assert not TOTPDevice.objects.filter(user=world.alice).exists()
    client.post(reverse("logout"))
    sign_in(client, "alice")
    assert client.get(reverse("day", args=[world.amy.pk])).status_code == 200


def test_token_for_staff_only_with_a_code(world, client):
    device = totp_device(world.carol)
    creds = {"username": "carol", "password": PASSWORD}
    missing = client.post(TOKEN, creds)
    assert missing.status_code == 400 and "otp_token" in missing.json()
    wrong = client.post(TOKEN, {**creds, "otp_token": "abc"})
    assert wrong.status_code == 400 and "otp_token" in wrong.json()
    ok = client.post(TOKEN, {**creds, "otp_token": next_code(device)})
    assert ok.status_code == 200
    rows = client.get("/api/children/", HTTP_AUTHORIZATION=f"Token {ok.json()['token']}")
    assert [c["first_name"] for c in rows.json()["results"]] == ["Amy"]
    # The token endpoint never leaves a session behind.
    assert "sessionid" not in ok.cookies


def test_token_with_a_backup_code_and_for_staff_without_an_app(world, client):
    no_app = client.post(TOKEN, {"username": "rita", "password": PASSWORD, "otp_token": "1"})
    assert no_app.status_code == 400 and "Set up two-factor" in no_app.json()["otp_token"][0]
    login(client, world.rita)
    codes = client.post(reverse("backup_codes_renew")).context["codes"]
    client.logout()
    creds = {"username": "rita", "password": PASSWORD, "otp_token": codes[3]}
    assert client.post(TOKEN, creds).status_code == 200
    assert client.post(TOKEN, creds).status_code == 400  # used up


def test_token_for_a_caregiver(world, client):
    assert client.post(TOKEN, {"username": "alice", "password": PASSWORD}).status_code == 200
    device = totp_device(world.alice)
    assert client.post(TOKEN, {"username": "alice", "password": PASSWORD}).status_code == 400
    with_code = {"username": "alice", "password": PASSWORD, "otp_token": next_code(device)}
    assert client.post(TOKEN, with_code).status_code == 200


def test_seed_demo_gives_staff_an_app_and_totp_code_prints_its_code(db, capsys, settings):
    settings.DEMO_PASSWORD = ""
    call_command("seed_demo", cohort=0)
    out = capsys.readouterr().out
    device = TOTPDevice.objects.get(user__username="demo-clinician", confirmed=True)
    assert "otpauth://totp/" in out and device.config_url in out
    assert not TOTPDevice.objects.filter(user__username="demo-parent").exists()
    settings.DEBUG = True
    call_command("totp_code", "demo-clinician")
    code = capsys.readouterr().out.strip()
    assert code == next_code(device)
    client = Client()
    sign_in(client, "demo-clinician", "demo-pass-2026")
    assert client.post(reverse("two_factor"), {"code": code}).status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only in development"):
        call_command("totp_code", "demo-clinician")
    settings.DEBUG = True
    with pytest.raises(CommandError, match="no demo authenticator"):
        call_command("totp_code", "demo-parent")
