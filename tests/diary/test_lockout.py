"""Brute force: 5 failures for one username from one address pause that pair, nothing else."""

from datetime import timedelta

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from diary.twofactor import next_code
from tests.conftest import PASSWORD, totp_device

ATTACKER = "203.0.113.5"
HOME = "198.51.100.7"
PAUSED = "Too many failed attempts to sign in"
STANDARD = "Please enter a correct username and password"


def page(client, username, password, address):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def token(client, username, password, address, **extra):
    return client.post(
        "/api/auth/token/",
        {"username": username, "password": password, **extra},
        REMOTE_ADDR=address,
    )


def test_sign_in_page_pauses_after_five_failures(world, client):
    for _ in range(4):
        response = page(client, "alice", "guess", ATTACKER)
        assert response.status_code == 200 and STANDARD in response.content.decode()
    fifth = page(client, "alice", "guess", ATTACKER)
    assert fifth.status_code == 429
    assert PAUSED in fifth.content.decode() and "30 minutes" in fifth.content.decode()
    # Even the right password is refused from that address during the cool-off...
    right = page(client, "alice", PASSWORD, ATTACKER)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    # ...and works again after it.
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        assert page(Client(), "alice", PASSWORD, ATTACKER).status_code == 302


def test_a_stranger_elsewhere_cannot_lock_a_parent_out(world, client):
    for _ in range(8):
        page(client, "alice", "guess", ATTACKER)
        token(client, "alice", "guess", ATTACKER)
    assert page(client, "alice", PASSWORD, ATTACKER).status_code == 429
    # Alice at home (another address) signs in on the page and gets a token.
    at_home = Client()
    assert page(at_home, "alice", PASSWORD, HOME).status_code == 302
    assert at_home.get(reverse("day", args=[world.amy.pk]), REMOTE_ADDR=HOME).status_code == 200
    assert token(Client(), "alice", PASSWORD, HOME).status_code == 200
    # Another family at the attacker's address is not affected either.
    assert page(Client(), "bob", PASSWORD, ATTACKER).status_code == 302


def test_token_endpoint_pauses_after_five_failures(world, client):
    for _ in range(4):
        assert token(client, "alice", "guess", ATTACKER).status_code == 400
    fifth = token(client, "alice", "guess", ATTACKER)
    assert fifth.status_code == 429 and PAUSED in fifth.json()["detail"]
    assert token(client, "alice", PASSWORD, ATTACKER).status_code == 429
    assert token(client, "alice", PASSWORD, HOME).status_code == 200


def test_failures_on_the_page_and_the_api_add_up(world, client):
    device = totp_device(world.carol)
    for _ in range(3):
        page(client, "carol", "guess", ATTACKER)
    for _ in range(2):
        token(client, "carol", "guess", ATTACKER)
    locked = token(client, "carol", PASSWORD, ATTACKER, otp_token=next_code(device))
    assert locked.status_code == 429


def test_a_success_clears_earlier_failures(world, client):
    for _ in range(4):
        page(client, "alice", "guess", ATTACKER)
    assert page(client, "alice", PASSWORD, ATTACKER).status_code == 302
    client.post(reverse("logout"), REMOTE_ADDR=ATTACKER)
    for _ in range(4):
        assert page(client, "alice", "guess", ATTACKER).status_code == 200


def test_behind_a_proxy_the_forwarded_address_counts(world, client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        client.post(
            reverse("login"),
            {"username": "alice", "password": "guess"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ATTACKER}",
        )
    # The proxy's address is shared by everyone; only the attacker's forwarded one is paused.
    from_home = Client().post(
        reverse("login"),
        {"username": "alice", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR=HOME,
    )
    assert from_home.status_code == 302
    from_attacker = Client().post(
        reverse("login"),
        {"username": "alice", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR=f"5.6.7.8, {ATTACKER}",
    )
    assert from_attacker.status_code == 429
