"""Sessions and headers: sign-out ends the session, idle staff are signed out, cookies and CSP."""

import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config import env
from tests.conftest import PASSWORD, login
from tests.test_settings import STRONG_KEY, clean_environ

ROOT = Path(__file__).resolve().parents[2]


def later(**delta):
    return time_machine.travel(timezone.now() + timedelta(**delta), tick=False)


def test_sign_out_invalidates_the_session(world, client):
    client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    old = client.cookies["sessionid"].value
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("logout")).status_code == 405  # sign-out is a POST (CSRF-checked)
    assert client.post(reverse("logout")).status_code == 302
    assert not Session.objects.filter(session_key=old).exists()
    replay = Client()
    replay.cookies["sessionid"] = old
    response = replay.get(reverse("home"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert replay.get(f"/api/children/{world.amy.pk}/").status_code == 403


def test_idle_staff_sessions_end(world, client):
    login(client, world.carol)
    assert client.get(reverse("dashboard")).status_code == 200
    with later(minutes=20):  # active within the limit: the clock restarts
        assert client.get(reverse("dashboard")).status_code == 200
    with later(minutes=45):  # 25 minutes after the last request
        assert client.get(reverse("dashboard")).status_code == 200
    old = client.cookies["sessionid"].value
    with later(minutes=76):  # 31 minutes without a request
        response = client.get(reverse("dashboard"))
        assert response.status_code == 302
        assert response.url == reverse("login") + "?next=/dashboard/"
        signed_out = client.get(response.url).content.decode()
        assert "signed out after 30 minutes without activity" in signed_out
        assert not Session.objects.filter(session_key=old).exists()
        assert client.get(reverse("dashboard")).status_code == 302


def test_idle_staff_api_session_ends_with_403(world, client):
    login(client, world.carol)
    assert client.get("/api/children/").status_code == 200
    with later(minutes=31):
        response = client.get("/api/children/")
        assert response.status_code == 403
        assert "without activity" in response.json()["detail"]


def test_caregivers_stay_signed_in_on_their_phone(world, client):
    client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert client.get(reverse("home")).status_code == 200
    assert client.session.get_expiry_age() > 29 * 24 * 3600
    with later(hours=10):
        assert client.get(reverse("day", args=[world.amy.pk])).status_code == 200
    # Used every few weeks, the session is renewed at each visit...
    with later(days=20):
        assert client.get(reverse("day", args=[world.amy.pk])).status_code == 200
    with later(days=45):
        assert client.get(reverse("day", args=[world.amy.pk])).status_code == 200
    # ...and ends after 30 days without one.
    with later(days=76):
        assert client.get(reverse("day", args=[world.amy.pk])).status_code == 302


def test_cookies_are_http_only_and_same_site_lax(world, client):
    client.get(reverse("login"))
    csrf = client.cookies["csrftoken"]
    assert csrf["samesite"] == "Lax"
    client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    session = client.cookies["sessionid"]
    assert session["httponly"] and session["samesite"] == "Lax"


def test_production_cookies_are_secure(tmp_path):
    code = (
        "import json, django; django.setup(); from django.conf import settings as s;"
        "print(json.dumps([s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_SAMESITE,"
        " s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0]))"
    )
    environ = clean_environ()
    environ.update(
        VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        SECRET_KEY=STRONG_KEY,
        PSEUDONYM_KEY="p" * 40,
        VAPID_PRIVATE_KEY=env.generated_vapid_key(tmp_path / "vapid"),
        ALLOWED_HOSTS="diary.example.org",
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert json.loads(out) == [True, True, True, "Lax", "Lax", True, True]


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.I)


def test_pages_have_a_strict_policy_and_nothing_inline(world, client):
    import uuid

    from diary import recording
    from diary.models import DiaryEntry
    from tests.conftest import AGS_ANSWERS, prescribe

    prescribe(world.amy)
    # An entry, so that the day page draws its bars (their heights once were style attributes).
    today = world.amy.today()
    recording.record(
        DiaryEntry, world.amy, world.alice, uuid.uuid4(), today, {"scores": AGS_ANSWERS}
    )
    pages = {
        "alice": [
            reverse("home"),
            reverse("day", args=[world.amy.pk]) + "?saved=1",
            reverse("days", args=[world.amy.pk]),
            reverse("child_detail", args=[world.amy.pk]),
            reverse("labs", args=[world.amy.pk]),
            reverse("account_security"),
            reverse("reminder_preferences"),
            reverse("two_factor_setup"),
        ],
        "carol": [
            reverse("home"),
            reverse("dashboard"),
            reverse("cohort"),
            reverse("child_detail", args=[world.amy.pk]),
            reverse("treatment", args=[world.amy.pk]),
            reverse("child_edit", args=[world.amy.pk]),
            reverse("labs", args=[world.amy.pk]),
            reverse("account_security"),
        ],
        "sam": [reverse("site_members", args=["north"])],
        None: [reverse("login"), reverse("password_reset")],
    }
    for who, urls in pages.items():
        client = Client()
        if who:
            login(client, getattr(world, who))
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (who, url, response.status_code)
            policy = directives(response)
            assert policy["script-src"] == ["'self'"], url
            assert policy["style-src"] == ["'self'"], url
            assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
            assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
            html = response.content.decode()
            assert not INLINE_SCRIPT.search(html), url
            assert not EVENT_HANDLER.search(html), url
            assert not STYLE_ATTRIBUTE.search(html), url


@pytest.mark.parametrize("folder", ["templates", "diary", "outcomes"])
def test_no_template_has_inline_script_or_style(folder):
    # Emails are not web pages: their inline styles are for mail readers.
    found = []
    for path in (ROOT / folder).rglob("*.html"):
        if "emails" in path.parts:
            continue
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, STYLE_ATTRIBUTE):
            if pattern.search(text):
                found.append(f"{path.relative_to(ROOT)}: {pattern.pattern}")
    assert found == []


def test_api_docs_relax_styles_only(world, client):
    login(client, world.carol)
    response = client.get("/api/docs/")
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" in policy["style-src"] and "data:" in policy["img-src"]
    assert not INLINE_SCRIPT.search(response.content.decode())
    script = re.search(r'<script src="([^"]+\?[^"]*script=[^"]*)"', response.content.decode())
    init = client.get(script.group(1).replace("&amp;", "&"))
    assert init.status_code == 200 and "SwaggerUIBundle" in init.content.decode()


def test_other_security_headers(world, client):
    response = client.get(reverse("login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
