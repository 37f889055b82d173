"""API tokens: one per device, stored as a digest, expiring by role, revoked on sign-out of the
device, on a password change or reset, on leaving or joining a site, and from the account page."""

import re
from datetime import timedelta

import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from knox.crypto import hash_token

from diary.models import ApiToken, Role, SiteMembership
from diary.tokens import devices, issue_token
from diary.twofactor import next_code
from tests.conftest import PASSWORD, login, totp_device
from tests.diary.test_translations import leftovers, visible_text

TOKEN = "/api/auth/token/"
LOGOUT = "/api/auth/token/logout/"


def works(client, token) -> bool:
    response = client.get("/api/children/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code in (200, 401, 403), response.status_code
    return response.status_code == 200


def later(**delta):
    return time_machine.travel(timezone.now() + timedelta(**delta), tick=False)


def test_a_caregivers_phone_token_lasts_the_caregiver_ttl(world, client, settings):
    settings.API_TOKEN_TTL_CAREGIVER_DAYS = 30
    answer = client.post(
        TOKEN, {"username": "alice", "password": PASSWORD, "device": "Alice's phone"}
    )
    assert answer.status_code == 200
    token = answer.json()["token"]
    expiry = parse_datetime(answer.json()["expiry"])
    assert timedelta(days=29, hours=23) < expiry - timezone.now() <= timedelta(days=30)
    assert ApiToken.objects.get(user=world.alice).device == "Alice's phone"
    with later(days=29):
        assert works(client, token)  # not idle-limited: a caregiver may not open it for weeks
    with later(days=30, minutes=1):
        assert not works(client, token)
    assert not ApiToken.objects.filter(user=world.alice).exists()  # expired rows are removed


def test_a_staff_token_is_short_and_ends_after_the_idle_limit(world, client, settings):
    settings.API_TOKEN_TTL_STAFF_HOURS = 8
    settings.STAFF_IDLE_MINUTES = 30
    device = totp_device(world.carol)
    answer = client.post(
        TOKEN,
        {"username": "carol", "password": PASSWORD, "otp_token": next_code(device)},
        content_type="application/json",
    )
    assert answer.status_code == 200
    expiry = parse_datetime(answer.json()["expiry"])
    assert timedelta(hours=7, minutes=59) < expiry - timezone.now() <= timedelta(hours=8)
    token = answer.json()["token"]
    assert ApiToken.objects.get(user=world.carol).staff
    with later(minutes=25):
        assert works(client, token)
    with later(minutes=25 + 31):  # 31 minutes without a request
        assert not works(client, token)
    assert not ApiToken.objects.filter(user=world.carol).exists()


def test_a_staff_token_in_use_still_ends_after_the_staff_ttl(world, client, settings):
    settings.API_TOKEN_TTL_STAFF_HOURS = 8
    _stored, token = issue_token(world.carol, "ward computer")
    for minutes in range(20, 8 * 60, 20):  # used every 20 minutes, never idle
        with later(minutes=minutes):
            assert works(client, token), minutes
    with later(hours=8, minutes=1):
        assert not works(client, token)


def test_the_database_holds_a_digest_never_the_token(world, client):
    stored, token = issue_token(world.alice, "phone")
    row = ApiToken.objects.get()
    assert row.digest == hash_token(token) != token
    assert len(row.token_key) < len(token)
    values = ApiToken.objects.values_list(*[f.attname for f in ApiToken._meta.fields])
    assert not any(token in str(value) for value in values[0])
    # The digest itself is no token.
    assert not works(client, row.digest)


def test_signing_out_of_a_device_revokes_only_its_token(world, client):
    _phone, phone = issue_token(world.alice, "phone")
    _tablet, tablet = issue_token(world.alice, "tablet")
    assert client.post(LOGOUT, HTTP_AUTHORIZATION=f"Token {phone}").status_code == 204
    assert not works(client, phone)
    assert works(client, tablet)
    assert list(ApiToken.objects.values_list("device", flat=True)) == ["tablet"]
    # Signing out needs the token: without one, or with the revoked one, nothing happens.
    assert client.post(LOGOUT).status_code in (401, 403)
    assert client.post(LOGOUT, HTTP_AUTHORIZATION=f"Token {phone}").status_code in (401, 403)
    assert works(client, tablet)


def test_a_password_change_revokes_every_token(world, client):
    _one, phone = issue_token(world.alice, "phone")
    _two, tablet = issue_token(world.alice, "tablet")
    _other, bobs = issue_token(world.bob, "phone")
    login(client, world.alice)
    new = "a much newer passphrase 42"
    changed = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert changed.status_code == 302
    client.logout()
    assert not works(client, phone) and not works(client, tablet)
    assert works(client, bobs)  # another family's are untouched


def test_a_password_reset_revokes_every_token(world, client):
    _stored, token = issue_token(world.alice, "lost phone")
    client.post(reverse("password_reset"), {"email": "alice@example.org"})
    link = re.search(r"http://\S+/reset/\S+/", mail.outbox[0].body).group(0)
    form_page = client.get(link.split("testserver", 1)[1], follow=True)
    new = "a much newer passphrase 42"
    client.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert not works(client, token)


def test_signing_in_does_not_revoke_tokens(world, client):
    _stored, token = issue_token(world.alice, "phone")
    login(client, world.alice)
    client.post(reverse("logout"))
    assert client.post(reverse("login"), {"username": "alice", "password": PASSWORD}).url == "/"
    assert works(client, token)


def test_removal_from_a_site_revokes_every_token(world, client):
    _stored, token = issue_token(world.carol, "ward computer")
    assert works(client, token)
    membership = SiteMembership.objects.get(user=world.carol, site=world.north)
    login(client, world.sam)
    removed = client.post(reverse("site_member_remove", args=["north", membership.pk]))
    assert removed.status_code == 302
    client.logout()
    assert not works(client, token)


def test_joining_a_site_revokes_a_caregivers_long_token(world, client):
    # A caregiver's phone token has no second factor and a long life: not for a staff role.
    _stored, token = issue_token(world.alice, "phone")
    SiteMembership.objects.create(user=world.alice, site=world.south, role=Role.CLINICIAN)
    assert not works(client, token)


def test_the_account_page_lists_devices_and_revokes_one(world, client):
    _phone, phone = issue_token(world.alice, "Alice's phone")
    tablet_row, tablet = issue_token(world.alice, "Kitchen tablet")
    with later(minutes=2):
        works(client, tablet)
    login(client, world.alice)
    page = client.get(reverse("account_security")).content.decode()
    assert "Alice&#x27;s phone" in page and "Kitchen tablet" in page
    assert phone not in page and tablet not in page  # the tokens are never shown again
    revoked = client.post(reverse("device_revoke", args=[tablet_row.digest]), follow=True)
    page = revoked.content.decode()
    assert "Kitchen tablet is signed out." in page
    assert "Kitchen tablet" not in page.split("Kitchen tablet is signed out.")[1]
    client.logout()
    assert not works(client, tablet)
    assert works(client, phone)


def test_revoke_every_device(world, client):
    _phone, phone = issue_token(world.alice, "phone")
    _tablet, tablet = issue_token(world.alice, "tablet")
    login(client, world.alice)
    client.post(reverse("devices_revoke_all"))
    page = client.get(reverse("account_security")).content.decode()
    assert "No device is signed in to the API." in page
    client.logout()
    assert not works(client, phone) and not works(client, tablet)


def test_a_stranger_cannot_revoke_or_see_another_users_device(world, client):
    row, token = issue_token(world.alice, "Alice's phone")
    login(client, world.bob)
    assert "Alice" not in client.get(reverse("account_security")).content.decode()
    assert client.post(reverse("device_revoke", args=[row.digest])).status_code == 404
    assert client.post(reverse("device_revoke", args=["0" * 128])).status_code == 404
    client.post(reverse("devices_revoke_all"))
    client.logout()
    assert works(client, token)
    # Signed out, the page and the buttons ask to sign in.
    assert client.post(reverse("device_revoke", args=[row.digest])).status_code == 302
    assert works(client, token)


def test_revoking_needs_a_post(world, client):
    row, token = issue_token(world.alice, "phone")
    login(client, world.alice)
    assert client.get(reverse("device_revoke", args=[row.digest])).status_code == 405
    assert client.get(reverse("devices_revoke_all")).status_code == 405
    client.logout()
    assert works(client, token)


def test_each_sign_in_is_a_new_device_and_the_name_is_optional(world, client):
    first = client.post(TOKEN, {"username": "alice", "password": PASSWORD}).json()["token"]
    second = client.post(
        TOKEN,
        {"username": "alice", "password": PASSWORD, "device": "  tablet  "},
        content_type="application/json",
    ).json()["token"]
    assert first != second and works(client, first) and works(client, second)
    assert sorted(ApiToken.objects.values_list("device", flat=True)) == ["", "tablet"]
    too_long = client.post(TOKEN, {"username": "alice", "password": PASSWORD, "device": "x" * 101})
    assert too_long.status_code == 400 and "device" in too_long.json()
    assert ApiToken.objects.count() == 2


def test_the_devices_section_is_in_french(world, client):
    world.alice.language = "fr"
    world.alice.save(update_fields=["language"])
    issue_token(world.alice, "")
    login(client, world.alice)
    page = client.get(reverse("account_security")).content.decode()
    text = visible_text(page)
    assert "Appareils connectés à l’API" in text and "Appareil sans nom" in text
    assert leftovers(text) == []


def test_expired_and_idle_tokens_are_not_listed(world, client, settings):
    settings.STAFF_IDLE_MINUTES = 30
    issue_token(world.carol, "ward computer")
    issue_token(world.alice, "phone")
    with later(minutes=31):
        assert [t.device for t in devices(world.carol)] == []
        assert [t.device for t in devices(world.alice)] == ["phone"]
    with later(days=31):
        assert [t.device for t in devices(world.alice)] == []


def test_a_superuser_sees_and_revokes_tokens_in_the_admin(world, client):
    from diary.models import User

    row, token = issue_token(world.alice, "Alice's phone")
    admin = User.objects.create_superuser("root", "root@example.org", PASSWORD)
    login(client, admin)
    listing = client.get(reverse("admin:diary_apitoken_changelist")).content.decode()
    assert "Alice&#x27;s phone" in listing and token not in listing
    delete = reverse("admin:diary_apitoken_delete", args=[row.digest])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    client.logout()
    assert not works(client, token)


def test_a_device_token_answers_in_its_users_language(world, client):
    """The language middleware runs before DRF reads the token: the token's user's language
    still wins, for that request only."""
    world.alice.language = "fr"
    world.alice.save(update_fields=["language"])
    _stored, token = issue_token(world.alice, "phone")
    bad = {"child": world.amy.pk, "date": "2999-01-01", "entry": {"scores": {}}}
    answer = client.post(
        "/api/days/",
        bad,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert answer.status_code == 400
    assert answer.json()["detail"] == "Rien n’a été enregistré."
    # The next request on this thread, without the token, is answered in its own language.
    answer = client.post(
        "/api/days/", bad, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert answer.status_code in (401, 403)
    assert "credentials" in answer.json()["detail"]
