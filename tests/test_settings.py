"""Strict environment parsing: a typo stops start-up with a message naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env

ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "k" * 20 + "9Qz-long-enough-random-looking-production-secret-value"


def clean_environ() -> dict:
    """This process's environment without the settings under test (nor test-only switches)."""
    ours = {"DATABASE_URL", "CELERY_BROKER_URL", "EMAIL_URL", "DEBUG", "SECRET_KEY"}
    ours |= {"PSEUDONYM_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT", "SITE_URL", "PORT"}
    ours |= {"DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE"}
    return {k: v for k, v in os.environ.items() if k not in ours}


def run_check(tmp_path, deploy=False, **variables):
    environ = clean_environ()
    environ.update(VAR_DIR=str(tmp_path), **variables)
    args = [sys.executable, "manage.py", "check"] + (
        ["--deploy", "--fail-level", "WARNING"] if deploy else []
    )
    return subprocess.run(args, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DATABASE_URL": "nonsense://x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://u@h/db"}, "only PostgreSQL and SQLite"),
        ({"EMAIL_URL": "smtp://mail.example.org:port"}, "EMAIL_URL"),
        ({"EMAIL_URL": "pigeon://loft"}, "EMAIL_URL"),
        ({"CELERY_BROKER_URL": "kafka://x"}, "CELERY_BROKER_URL"),
        ({"TIME_ZONE": "Mars/Base"}, "TIME_ZONE='Mars/Base' is not a known time zone"),
        ({"INVITATION_MAX_AGE_DAYS": "two"}, "INVITATION_MAX_AGE_DAYS='two'"),
        ({"DEBUG": "0"}, "SECRET_KEY (or SECRET_KEY_FILE) must be set"),
        ({"DEBUG": "0", "SECRET_KEY": "short"}, "SECRET_KEY is too weak"),
        ({"DEBUG": "0", "SECRET_KEY": STRONG_KEY}, "PSEUDONYM_KEY (or PSEUDONYM_KEY_FILE)"),
        ({"PSEUDONYM_KEY": "short"}, "PSEUDONYM_KEY is too short"),
        (
            {"DEBUG": "0", "SECRET_KEY": STRONG_KEY, "PSEUDONYM_KEY": "p" * 40},
            "VAPID_PRIVATE_KEY (or VAPID_PRIVATE_KEY_FILE) must be set",
        ),
        ({"VAPID_PRIVATE_KEY": "not-a-key"}, "VAPID_PRIVATE_KEY is not a P-256 private key"),
        ({"VAPID_SUBJECT": "diary@example.org"}, "VAPID_SUBJECT='diary@example.org'"),
        ({"PORT": "eighty"}, "PORT='eighty'"),
        ({"REMINDER_LOCAL_HOUR": "24"}, "REMINDER_LOCAL_HOUR=24: an hour, 0 to 23"),
        ({"REMINDER_MAX_LATE_DAYS": "-1"}, "REMINDER_MAX_LATE_DAYS='-1' must be at least 0"),
    ],
)
def test_malformed_environment_stops_start_up(tmp_path, variables, named):
    result = run_check(tmp_path, **variables)
    assert result.returncode != 0
    assert named in result.stderr
    assert "Traceback" not in result.stderr


def test_production_settings_pass_the_deploy_check(tmp_path):
    result = run_check(
        tmp_path,
        deploy=True,
        DEBUG="0",
        SECRET_KEY=STRONG_KEY,
        PSEUDONYM_KEY="p" * 40,
        VAPID_PRIVATE_KEY=env.generated_vapid_key(tmp_path / "vapid"),
        ALLOWED_HOSTS="diary.example.org",
    )
    assert result.returncode == 0, result.stderr + result.stdout


def settings_of(tmp_path, *names: str, **variables) -> list[str]:
    """The values of settings NAMES with the environment VARIABLES (a fresh process)."""
    code = "from django.conf import settings as s;" + ";".join(f"print(s.{n})" for n in names)
    environ = clean_environ()
    environ.update(VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings", **variables)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()


def test_site_url_follows_the_port_unless_given(tmp_path):
    assert settings_of(tmp_path, "SITE_URL") == ["http://127.0.0.1:8000"]
    assert settings_of(tmp_path, "SITE_URL", PORT="8123") == ["http://127.0.0.1:8123"]
    given = settings_of(tmp_path, "SITE_URL", PORT="8123", SITE_URL="https://diary.example.org/")
    assert given == ["https://diary.example.org"]


def test_make_run_gives_every_process_the_web_servers_address():
    """honcho gives the worker and beat PORTs of their own: make passes SITE_URL to them all."""
    plan = subprocess.run(
        ["make", "-n", "run", "PORT=8123"], cwd=ROOT, capture_output=True, text=True, timeout=60
    ).stdout
    assert 'SITE_URL="${SITE_URL:-http://127.0.0.1:8123}"' in plan


def test_the_vapid_key_is_made_once_in_development_and_taken_from_the_environment(tmp_path):
    made = settings_of(tmp_path, "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY", "VAPID_SUBJECT")
    assert made[0] == (tmp_path / "vapid_private_key").read_text()
    assert made == settings_of(tmp_path, "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY", "VAPID_SUBJECT")
    assert made[2] == "mailto:diary@localhost"
    other = env.generated_vapid_key(tmp_path / "other")
    given = settings_of(
        tmp_path / "x", "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY", VAPID_PRIVATE_KEY=other
    )
    assert given == [other, env.vapid_public_key(other)] and given[1] != made[1]


def test_embedded_defaults_keep_everything_under_var(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['NAME']);print(s.EMAIL_FILE_PATH);"
        "print(s.CELERY_BROKER_URL);print(s.CELERY_BROKER_TRANSPORT_OPTIONS['data_folder_in'])"
    )
    environ = clean_environ()
    environ.update(VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert out[0] == str(tmp_path / "db.sqlite3")
    assert out[1] == str(tmp_path / "mail")
    assert out[2] == "filesystem://localhost/"
    assert out[3].startswith(str(tmp_path))
    assert (tmp_path / "secret_key").read_text()


def test_env_bool():
    assert env.env_bool("X", False, {"X": "Yes"}) is True
    assert env.env_bool("X", True, {"X": "off"}) is False
    assert env.env_bool("X", True, {}) is True
    with pytest.raises(ImproperlyConfigured, match="X='ture'"):
        env.env_bool("X", False, {"X": "ture"})


def test_env_int_and_list():
    assert env.env_int("N", 3, {"N": "7"}) == 7
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env.env_int("N", 3, {"N": "0"}, minimum=1)
    assert env.env_list("H", ["a"], {"H": " x.org, y.org ,"}) == ["x.org", "y.org"]
    assert env.env_list("H", ["a"], {}) == ["a"]


def test_secret_from_file(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("from-a-file\n")
    assert env.env_str("SECRET_KEY", "", {"SECRET_KEY_FILE": str(secret)}) == "from-a-file"
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY_FILE"):
        env.env_str("SECRET_KEY", "", {"SECRET_KEY_FILE": str(tmp_path / "missing")})


def test_generated_secret_is_made_once(tmp_path):
    first = env.generated_secret(tmp_path / "secret")
    assert len(first) >= 50
    assert env.generated_secret(tmp_path / "secret") == first


def test_database_urls():
    pg = env.env_database("DATABASE_URL", "", {"DATABASE_URL": "postgres://u:p@db:5432/ags"})
    assert pg["ENGINE"] == "django.db.backends.postgresql" and pg["NAME"] == "ags"
    lite = env.env_database("DATABASE_URL", "", {"DATABASE_URL": "sqlite:////tmp/x.db"})
    assert lite["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_email_urls():
    smtp = env.env_email(
        "EMAIL_URL", "", {"EMAIL_URL": "smtp://u:p@mail.example.org:587/?tls=True"}
    )
    assert smtp["EMAIL_HOST"] == "mail.example.org" and smtp["EMAIL_PORT"] == 587
    assert smtp["EMAIL_USE_TLS"] is True
    files = env.env_email("EMAIL_URL", "", {"EMAIL_URL": "file:///srv/mail"})
    assert files["EMAIL_FILE_PATH"] == "/srv/mail"
