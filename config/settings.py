"""One settings module. Embedded defaults when nothing is set; the environment switches to
PostgreSQL, Redis/RabbitMQ, SMTP and production mode (see docs/operations.md)."""

import os
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import (
    broker_url,
    env_bool,
    env_database,
    env_decimal,
    env_email,
    env_int,
    env_list,
    env_str,
    env_timezone,
    generated_secret,
    generated_vapid_key,
    vapid_public_key,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", default=True)
PRODUCTION = not DEBUG


def _key(name: str) -> str:
    """NAME (or NAME_FILE) from the environment; outside production, a key made once in VAR_DIR."""
    key = env_str(name)
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured(
            f"{name} (or {name}_FILE) must be set when DEBUG is off (production mode)"
        )
    return generated_secret(VAR_DIR / name.lower())


SECRET_KEY = _key("SECRET_KEY")
if PRODUCTION and (len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured("SECRET_KEY is too weak for production: use 50+ random characters")

# Key of the research pseudonyms (HMAC-SHA256, DOMAIN §9) and of the pseudonym kept in the audit
# trail after an erasure. Never stored in the database nor written to an export; losing it means
# new pseudonyms for every child, so production must set it and keep it apart from the backups.
PSEUDONYM_KEY = _key("PSEUDONYM_KEY")
if len(PSEUDONYM_KEY) < 32:
    raise ImproperlyConfigured("PSEUDONYM_KEY is too short: use 32+ random characters")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The address of email and notification links; without SITE_URL, the development server's
# port (`make run PORT=8001` passes it to every process).
PORT = env_int("PORT", 8000, minimum=1)
SITE_URL = env_str("SITE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_countries",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "diary",
    "outcomes",
    "exchange",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "diary.middleware.UserLanguageMiddleware",
    "diary.access.AccessLogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "diary.security.IdleSessionMiddleware",
    "diary.security.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "diary.User"
# Axes first: it refuses a locked-out username + address before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24  # one day
INVITATION_MAX_AGE_DAYS = env_int("INVITATION_MAX_AGE_DAYS", 14, minimum=1)
# Days a child's record is kept after consent withdrawal before a site administrator may erase it.
ERASURE_RETENTION_DAYS = env_int("ERASURE_RETENTION_DAYS", 30, minimum=0)

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("Français"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Short dates per language (config/formats/LANG/formats.py): templates use SHORT_DATE_FORMAT.
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env_timezone("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Rendered charts, shared by the processes of one machine (a cache, never needed state).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
        "TIMEOUT": 7 * 24 * 3600,
        "OPTIONS": {"MAX_ENTRIES": 5000},
    }
}

# Email: files under var/mail/ unless EMAIL_URL names an SMTP server.
_email = env_email("EMAIL_URL", f"file://{VAR_DIR / 'mail'}")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "AGS diary <diary@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: a file-system broker under var/ unless CELERY_BROKER_URL names Redis or RabbitMQ.
# "localhost": kombu warns on every connection when the URL names no host.
CELERY_BROKER_URL = broker_url("CELERY_BROKER_URL", "filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue = VAR_DIR / "broker" / "queue"
    _processed = VAR_DIR / "broker" / "processed"
    _control = VAR_DIR / "broker" / "control"
    for _folder in (_queue, _processed, _control):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(_processed),
        "control_folder": str(_control),
        "store_processed": False,
        # A task is picked up, and Ctrl-C stops the worker, within about a second.
        "polling_interval": 0.25,
    }
else:
    # Tasks must never wait longer than this to be redelivered after a worker dies.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# Workers log through LOGGING below (and its redaction filter), not Celery's own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "sweep-reminders": {
        "task": "outcomes.tasks.sweep_reminders",
        "schedule": env_int("REMINDER_SWEEP_SECONDS", 600, minimum=10),
    },
    "weekly-digest": {
        "task": "outcomes.tasks.weekly_digest",
        "schedule": crontab(minute=0, hour=7, day_of_week="monday"),
    },
}

# Reminders (DOMAIN §8): days before and after a due test, and the family's local hour.
REMINDER_DAYS_BEFORE = env_int("REMINDER_DAYS_BEFORE", 7, minimum=0)
REMINDER_DAYS_AFTER = env_int("REMINDER_DAYS_AFTER", 7, minimum=1)
REMINDER_LOCAL_HOUR = env_int("REMINDER_LOCAL_HOUR", 9, minimum=0)
if REMINDER_LOCAL_HOUR > 23:
    raise ImproperlyConfigured(f"REMINDER_LOCAL_HOUR={REMINDER_LOCAL_HOUR}: an hour, 0 to 23")
REMINDER_SWEEP_ON_START = env_bool("REMINDER_SWEEP_ON_START", default=True)
# A reminder whose moment passed while no sweep ran (broker, beat or workers down) is sent when
# they are back, worded as late, up to this many days after it; never later.
REMINDER_MAX_LATE_DAYS = env_int("REMINDER_MAX_LATE_DAYS", 3, minimum=0)
# A send that met a temporary failure is retried after this many seconds, then twice as long…
REMINDER_RETRY_SECONDS = env_int("REMINDER_RETRY_SECONDS", 30, minimum=1)

# Web Push (RFC 8030) with VAPID (RFC 8292): the key signs every push; browsers subscribe with
# its public half, so a new key means every device turns notifications on again. Required in
# production like the other keys; made once under VAR_DIR in development.
_vapid = env_str("VAPID_PRIVATE_KEY")
if not _vapid and PRODUCTION:
    raise ImproperlyConfigured(
        "VAPID_PRIVATE_KEY (or VAPID_PRIVATE_KEY_FILE) must be set when DEBUG is off"
    )
VAPID_PRIVATE_KEY = _vapid or generated_vapid_key(VAR_DIR / "vapid_private_key")
VAPID_PUBLIC_KEY = vapid_public_key(VAPID_PRIVATE_KEY)
# Who the push services may contact about our pushes: a mailto: or https: address.
VAPID_SUBJECT = env_str(
    "VAPID_SUBJECT", "mailto:" + DEFAULT_FROM_EMAIL.rpartition("<")[2].rstrip(">").strip()
)
if not VAPID_SUBJECT.startswith(("mailto:", "https://")):
    raise ImproperlyConfigured(f"VAPID_SUBJECT={VAPID_SUBJECT!r}: use mailto:… or https://…")
# Subscriptions are accepted only for these push services (host names and their subdomains):
# the server posts to the endpoint, so any other address would let a caller aim it anywhere.
PUSH_SERVICE_HOSTS = env_list(
    "PUSH_SERVICE_HOSTS",
    ["fcm.googleapis.com", "push.services.mozilla.com", "push.apple.com", "notify.windows.com"],
)
# How long a push service keeps a notification for a phone that is off (seconds).
PUSH_TTL_SECONDS = env_int("PUSH_TTL_SECONDS", 24 * 3600, minimum=0)
PUSH_TIMEOUT_SECONDS = env_int("PUSH_TIMEOUT_SECONDS", 10, minimum=1)
# Research exports of up to this many diary days are built during the request; larger ones by a
# worker, which emails the researcher a link.
EXPORT_INLINE_MAX_ROWS = env_int("EXPORT_INLINE_MAX_ROWS", 100_000, minimum=0)
# No set of research exports places a child's event on the calendar more precisely than this
# many days either way (DOMAIN §9): each child's record ends 0–2×this days before the freeze.
EXPORT_DATE_UNCERTAINTY_DAYS = env_int("EXPORT_DATE_UNCERTAINTY_DAYS", 30, minimum=0)
if EXPORT_DATE_UNCERTAINTY_DAYS > 150:
    raise ImproperlyConfigured("EXPORT_DATE_UNCERTAINTY_DAYS: at most 150 (shifts span a year).")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "diary.tokens.DeviceTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JSON only: the phone app and scripts send JSON; forms are for the pages. Bounded in size
    # and nesting: a hostile body is a 400.
    "DEFAULT_PARSER_CLASSES": ["diary.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "diary.api.parsers.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.StrictLimitOffsetPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AGS diary API",
    "DESCRIPTION": "Daily diaries, doses and outcomes of children on JAK inhibitors.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.document_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "JakInhibitorEnum": "diary.doses.Drug",
        "ExportStatusEnum": "outcomes.models.ExportStatus",
        "DoseStatusEnum": "diary.models.DoseStatus",
        "SteroidEnum": "diary.doses.Steroid",
    },
}

DEMO_PASSWORD = env_str("DEMO_PASSWORD")

# `make bench` turns on /bench/ping, the trivial authenticated view its latencies are compared to.
BENCH_BASELINE_VIEW = env_bool("BENCH_BASELINE_VIEW", default=False)

# Clinical defaults a clinic may change (DOMAIN §5, §7).
EGFR_CONSTANT = env_decimal("EGFR_CONSTANT", "36")  # 36 per SPARN §6.2b; 36.5 bedside Schwartz
# How recent an input must be for a guideline check (docs/treatment-and-phases.md, "Missing or
# old inputs"): older is missing, and the check says it could not be made. A weight within 90
# days (a clinic visit every 3 months), an eGFR within 98 days (12-weekly bloods + 2 weeks), a
# height within 180 days of the creatinine it turns into an eGFR.
GUIDELINE_WEIGHT_MAX_AGE_DAYS = env_int("GUIDELINE_WEIGHT_MAX_AGE_DAYS", 90, minimum=1)
GUIDELINE_EGFR_MAX_AGE_DAYS = env_int("GUIDELINE_EGFR_MAX_AGE_DAYS", 98, minimum=1)
GUIDELINE_HEIGHT_MAX_AGE_DAYS = env_int("GUIDELINE_HEIGHT_MAX_AGE_DAYS", 180, minimum=1)
# A diary temperature at or above this (°C) on a day on a JAK inhibitor flags it (SPARN §7.3).
INFECTION_FEVER_FROM_C = env_decimal("INFECTION_FEVER_FROM_C", "38.0")
# Pregnancy and contraception are screened in girls from this age (SPARN §5.1, §6.1, §10).
SCREENING_CHILDBEARING_FROM_AGE = env_int("SCREENING_CHILDBEARING_FROM_AGE", 12, minimum=0)
# A restart after an interruption this long (days) starts the early checks again (§6.7, §5.4).
GUIDELINE_RESTART_AFTER_DAYS = env_int("GUIDELINE_RESTART_AFTER_DAYS", 28, minimum=1)
# Clinical response (DOMAIN §6, NIH remission rule for CANDLE, unconfirmed): phase-4 mean
# diary score and prednisone-equivalent mg/kg/day below these, and CRP normal.
RESPONSE_MAX_SCORE = float(env_decimal("RESPONSE_MAX_SCORE", "0.15"))
RESPONSE_MAX_PREDNISONE = float(env_decimal("RESPONSE_MAX_PREDNISONE", "0.15"))
# RESPONSE_MAX_SCORE is the NIH's, for its 0–4 mean-scored diaries. A diary on another scale
# uses the same fraction of its own maximum (outcomes.summaries.response_rule) unless given
# here, on its own scale, e.g. RESPONSE_MAX_SCORE_BY_INSTRUMENT="ags=1.0".
RESPONSE_MAX_SCORE_BY_INSTRUMENT = {
    key.strip(): float(value)
    for key, _sep, value in (
        pair.partition("=")
        for pair in os.environ.get("RESPONSE_MAX_SCORE_BY_INSTRUMENT", "").split(",")
        if pair.strip()
    )
}
PHASE1_BASELINE_DAYS = env_int("PHASE1_BASELINE_DAYS", 0, minimum=0) or None  # 0: all days


def _bands(name: str, default: str) -> dict[str, tuple[int, int]]:
    """ "severe=0-3,moderate=4-8,attenuated=9-11": each band's first and last score."""
    bands = {}
    for pair in os.environ.get(name, default).split(","):
        band, _sep, span = pair.strip().partition("=")
        low, _dash, high = span.partition("-")
        if not (band and low.strip().isdigit() and high.strip().isdigit()):
            raise ImproperlyConfigured(f"{name}: write bands as severe=0-3,moderate=4-8,...")
        bands[band] = (int(low), int(high))
    return bands


# AGS Scale severity bands (DOMAIN §3: unconfirmed defaults).
AGS_SCALE_BANDS = _bands("AGS_SCALE_BANDS", "severe=0-3,moderate=4-8,attenuated=9-11")
# The dashboard (outcomes/attention.py): a last week's mean score above the child's baseline by
# more than this fraction of the instrument's range is worsening; doses given under this
# percentage of those prescribed over 14 days are missed doses.
WORSENING_MARGIN = float(env_decimal("WORSENING_MARGIN", "0.10"))
ADHERENCE_MIN_PERCENT = float(env_decimal("ADHERENCE_MIN_PERCENT", "80"))
# The timeline chart (outcomes/pages.py): a worker draws it after each change of the child's
# data; a view meanwhile shows the latest drawing, saying when it was drawn, and draws it
# itself when no worker has within TIMELINE_REDRAW_WAIT_SECONDS.
TIMELINE_DRAW_AHEAD = env_bool("TIMELINE_DRAW_AHEAD", default=True)
TIMELINE_REDRAW_WAIT_SECONDS = env_int("TIMELINE_REDRAW_WAIT_SECONDS", 30, minimum=0)

# Sign-in and sessions (docs/security.md). Staff must use a second factor and
# are signed out after STAFF_IDLE_MINUTES without a request; caregivers stay signed in on their
# phone for CAREGIVER_SESSION_DAYS after their last visit.
STAFF_IDLE_MINUTES = env_int("STAFF_IDLE_MINUTES", 30, minimum=1)
CAREGIVER_SESSION_DAYS = env_int("CAREGIVER_SESSION_DAYS", 30, minimum=1)
SESSION_COOKIE_AGE = CAREGIVER_SESSION_DAYS * 24 * 3600
# API tokens (docs/api.md): one per device, stored as a digest. Staff tokens last
# API_TOKEN_TTL_STAFF_HOURS and end after STAFF_IDLE_MINUTES without a request, as sessions do;
# caregivers' (a phone) last API_TOKEN_TTL_CAREGIVER_DAYS.
API_TOKEN_TTL_STAFF_HOURS = env_int("API_TOKEN_TTL_STAFF_HOURS", 8, minimum=1)
API_TOKEN_TTL_CAREGIVER_DAYS = env_int("API_TOKEN_TTL_CAREGIVER_DAYS", 30, minimum=1)
KNOX_TOKEN_MODEL = "diary.ApiToken"  # noqa: S105 - a model name
# knox's own migrations create its token table even when the model is swapped for ours; that
# table's key to users then blocks PostgreSQL's flush between tests. Nothing uses it.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_MODEL": KNOX_TOKEN_MODEL,
    "TOKEN_TTL": timedelta(hours=API_TOKEN_TTL_STAFF_HOURS),  # only if no role-based expiry
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
OTP_TOTP_ISSUER = env_str("OTP_ISSUER", "AGS diary")
BACKUP_CODES = 10

# Brute force: 5 failures for one username from one address lock that pair (not the account,
# so a stranger elsewhere cannot lock a parent out) for LOGIN_LOCKOUT_MINUTES.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "diary.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "diary.security.client_ip"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token", "password"]
AXES_VERBOSE = False
# Only failures are kept (for the cool-off), not every sign-in's address and browser.
AXES_DISABLE_ACCESS_LOG = True
# Behind N proxies that append to X-Forwarded-For, the client is the Nth address from the right.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
ACCESS_LOG_PAGE_SIZE = 50

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Not HttpOnly: the diary page's offline sync reads the token from the cookie (Django's advice).
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# No inline scripts or styles anywhere; the API docs view alone relaxes styles (Swagger UI).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "worker-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Every handler passes through the redaction filter (emails, tokens in paths); see the logs test.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "config.logfilters.RedactFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Replace Django's own handlers (unfiltered) with ours.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}

# Identify this code in the health check and exports.
APP_VERSION = os.environ.get("APP_VERSION", "0.1.0")
