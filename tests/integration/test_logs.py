"""Passwords, tokens, emails, names and diary notes never reach the logs.

A whole flow runs with every logger at DEBUG (django.request, django.security, axes, celery in a
real worker process...) through the configured handlers, whose output is then searched for each
seeded value."""

import io
import logging
import re
import time
import uuid
import zoneinfo
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from diary import invitations
from diary.models import CareLink, Invitation, SiteMembership
from diary.twofactor import next_code
from outcomes import reminders
from outcomes.models import Reminder, ReminderStatus
from tests.conftest import AGS_ANSWERS, make_child, prescribe, totp_device
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
# The SMTP server and the worker processes of the delivery tests.

PARENT_PASSWORD = "Zebra-Quokka-Moonlight-73"
DOCTOR_PASSWORD = "Heron-Lantern-Cobalt-58"
NOTE = "Saw a small rash behind the left ear after the swimming lesson"


@pytest.fixture
def captured():
    """Everything the configured handlers print, with all loggers at DEBUG."""
    buffer = io.StringIO()
    handlers = {
        h
        for name in ("", "django", "django.server")
        for h in logging.getLogger(name).handlers
        if any(type(f).__name__ == "RedactFilter" for f in h.filters)
    }
    assert handlers, "the configured console handler is missing"
    streams = {h: h.setStream(buffer) for h in handlers}
    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
    ]
    levels = {lg: lg.level for lg in loggers}
    for lg in loggers:
        # SQL stays at its configured level: at DEBUG it would print every value written.
        if not lg.name.startswith("django.db.backends"):
            lg.setLevel(logging.DEBUG)
    # Not the app: the test's own SMTP server (aiosmtpd) prints every message it receives.
    logging.getLogger("mail.log").setLevel(logging.INFO)
    debug_cursor = connection.force_debug_cursor
    connection.force_debug_cursor = True
    yield buffer
    connection.force_debug_cursor = debug_cursor
    for lg, level in levels.items():
        lg.setLevel(level)
    for h, stream in streams.items():
        h.setStream(stream)


def a_zone_at_daytime() -> str:
    now = timezone.now()
    return next(
        z
        for z in ("Pacific/Kiritimati", "Asia/Tokyo", "Asia/Kolkata", "Europe/Paris")
        + ("America/New_York", "Pacific/Honolulu")
        if 9 <= now.astimezone(zoneinfo.ZoneInfo(z)).hour <= 22
    )


def test_a_full_flow_leaves_no_secret_in_the_logs(
    world,
    captured,
    smtp,
    workers,
    monkeypatch,
    tmp_path,
):
    from diary.models import User

    parent = User.objects.create_user(
        username="marguerite.k",
        email="marguerite.kowalczyk@example.net",
        password=PARENT_PASSWORD,
        first_name="Marguerite",
        last_name="Kowalczyk",
        test_reminders=True,
    )
    doctor = User.objects.create_user(
        username="dr.okonkwo",
        email="chidinma.okonkwo@clinic.example",
        password=DOCTOR_PASSWORD,
        first_name="Chidinma",
        last_name="Okonkwo",
    )
    SiteMembership.objects.create(user=doctor, site=world.north, role="clinician")
    child = make_child(
        world.north, "Philomena", last_name="Vandersteen", timezone=a_zone_at_daytime()
    )
    prescribe(child, start=child.today() - timedelta(weeks=2))  # week-2 bloods due today
    CareLink.objects.create(caregiver=parent, child=child, relationship="mother")
    device = totp_device(doctor)
    secrets = {
        "parent password": PARENT_PASSWORD,
        "doctor password": DOCTOR_PASSWORD,
        "note": NOTE,
        "parent email": parent.email,
        "doctor email": doctor.email,
        "parent username": parent.username,
        "doctor username": doctor.username,
        "parent first name": "Marguerite",
        "parent last name": "Kowalczyk",
        "doctor first name": "Chidinma",
        "doctor last name": "Okonkwo",
        "child first name": "Philomena",
        "child last name": "Vandersteen",
    }

    # The parent signs in on the page and records a day with a note.
    web = Client()
    assert (
        web.post(
            reverse("login"), {"username": parent.username, "password": PARENT_PASSWORD}
        ).status_code
        == 302
    )
    secrets["parent session"] = web.cookies["sessionid"].value
    assert web.get(reverse("day", args=[child.pk])).status_code == 200
    entry = {
        "id": str(uuid.uuid4()),
        "child": child.pk,
        "date": child.today().isoformat(),
        "scores": AGS_ANSWERS,
        "note": NOTE,
    }
    csrf = web.cookies["csrftoken"].value
    saved = web.post("/api/entries/", entry, content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    assert saved.status_code == 201, saved.content
    bad = web.post(
        "/api/entries/",
        {**entry, "id": str(uuid.uuid4()), "scores": {"crying": 99}},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert bad.status_code == 400

    # Tokens: the parent's with a password; the clinician's with a code as well.
    api = Client()
    token = api.post(
        "/api/auth/token/", {"username": parent.username, "password": PARENT_PASSWORD}
    ).json()["token"]
    secrets["parent token"] = token
    rows = api.get("/api/entries/", HTTP_AUTHORIZATION=f"Token {token}").json()["results"]
    assert rows[0]["note"] == NOTE
    code = next_code(device)
    secrets["otp code"] = code
    no_code = api.post(
        "/api/auth/token/", {"username": doctor.username, "password": DOCTOR_PASSWORD}
    )
    assert no_code.status_code == 400
    doctor_token = api.post(
        "/api/auth/token/",
        {"username": doctor.username, "password": DOCTOR_PASSWORD, "otp_token": code},
    ).json()["token"]
    secrets["doctor token"] = doctor_token
    assert api.get("/api/children/", HTTP_AUTHORIZATION=f"Token {doctor_token}").status_code == 200
    assert api.get("/api/children/", HTTP_AUTHORIZATION="Token nonsense").status_code in (401, 403)

    # The clinician signs in with the code step (a wrong code first).
    clinic = Client()
    clinic.post(reverse("login"), {"username": doctor.username, "password": DOCTOR_PASSWORD})
    clinic.post(reverse("two_factor"), {"code": "not-a-code"})
    assert clinic.get(reverse("child_detail", args=[child.pk])).status_code == 302
    # Failed sign-ins, then a lockout on the page and on the API.
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for guess in ("Zebra-Quokka-Moonlight-72", "password1", "x", "y", "z", "w"):
        attacker.post(reverse("login"), {"username": parent.username, "password": guess})
        attacker.post("/api/auth/token/", {"username": doctor.username, "password": guess + "!"})
    locked = attacker.post(
        reverse("login"), {"username": parent.username, "password": PARENT_PASSWORD}
    )
    assert locked.status_code == 429
    # Links that carry a token in their path, used or broken.
    invitation = Invitation.objects.create(
        email="new.grandparent.zz@example.org", child=child, relationship="grandmother"
    )
    invitation_token = invitations.token_for(invitation)
    secrets["invitation token"] = invitation_token
    secrets["invitation email"] = invitation.email
    Invitation.objects.filter(pk=invitation.pk).delete()
    assert Client().get(reverse("accept_invitation", args=[invitation_token])).status_code == 404
    unsubscribe = reminders.unsubscribe_token(parent, "tests")
    secrets["unsubscribe token"] = unsubscribe
    assert Client().get(f"/unsubscribe/{unsubscribe}x/").status_code == 404
    # A password reset email.
    Client().post(reverse("password_reset"), {"email": parent.email})
    reset_link = re.search(r"/accounts/reset/(\S+)/(\S+)/", mail.outbox[-1].body)
    secrets["reset token"] = reset_link.group(2)
    bad_reset = reset_link.group(0).replace(reset_link.group(2), "bad-token")
    assert Client().get(bad_reset).status_code == 200  # "the link was invalid" page

    # A reminder email sent by a real worker (its own process and logs) through SMTP.
    handler, port = smtp()
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    assert reminders.sweep() == 1
    workers(1, port)
    assert wait_for(lambda: handler.messages, 60), "no reminder arrived"
    assert wait_for(lambda: Reminder.objects.get().status == ReminderStatus.SENT, 20)
    assert handler.messages[0][0] == [parent.email]
    time.sleep(1)  # the worker logs the task's success after sending

    logs = captured.getvalue() + (tmp_path / "worker0.log").read_text()
    # The capture works: requests, lockouts and the worker's task are all there.
    assert "Bad Request: /api/auth/token/" in logs
    assert "Not Found: /accounts/invite/[redacted]/" in logs
    assert "AXES" in logs and "succeeded" in logs
    leaks = {what: value for what, value in secrets.items() if value.lower() in logs.lower()}
    where = {
        what: [line for line in logs.splitlines() if value.lower() in line.lower()][:3]
        for what, value in leaks.items()
    }
    assert leaks == {}, where
