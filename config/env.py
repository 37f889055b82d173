"""Strict parsing of environment variables: a typo stops start-up with the variable's name."""

import os
import secrets
import time
import zoneinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


def _raw(name: str, environ=None) -> str | None:
    """The value of NAME, or the contents of the file named by NAME_FILE (for secrets)."""
    environ = os.environ if environ is None else environ
    if name in environ:
        return environ[name]
    file_name = environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_name!r}: {exc}") from exc
    return None


def env_str(name: str, default: str = "", environ=None) -> str:
    value = _raw(name, environ)
    return default if value is None else value


def env_bool(name: str, default: bool, environ=None) -> bool:
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean: use one of {sorted(TRUE | FALSE)}"
    )


def env_int(name: str, default: int, environ=None, minimum: int | None = None) -> int:
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r} must be at least {minimum}")
    return number


def env_decimal(name: str, default: str, environ=None) -> Decimal:
    value = env_str(name, default, environ)
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise ImproperlyConfigured(f"{name}={value!r} must be a positive number")
    return number


def env_list(name: str, default: list[str], environ=None) -> list[str]:
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_timezone(name: str, default: str, environ=None) -> str:
    value = env_str(name, default, environ)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name}={value!r} is not a known time zone") from None
    return value


def env_database(name: str, default: str, environ=None) -> dict:
    import dj_database_url

    value = env_str(name, default, environ)
    try:
        config = dj_database_url.parse(value, conn_max_age=60, conn_health_checks=True)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"{name}: cannot parse {value!r}: {exc}") from None
    engine = config.get("ENGINE", "")
    if engine.endswith("sqlite3"):
        if not config.get("NAME"):
            raise ImproperlyConfigured(f"{name}={value!r} names no database file")
        # Web, worker and beat share one file: wait for locks, let readers run during writes.
        config["CONN_MAX_AGE"] = 0
        config["CONN_HEALTH_CHECKS"] = False
        # Tests use a file too: in-memory SQLite locks tables without waiting.
        config["TEST"] = {"NAME": str(Path(config["NAME"]).with_suffix(".test.sqlite3"))}
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    elif engine.endswith("postgresql"):
        if not config.get("NAME"):
            raise ImproperlyConfigured(f"{name}={value!r} names no database")
    else:
        raise ImproperlyConfigured(f"{name}={value!r}: only PostgreSQL and SQLite are supported")
    return config


def env_email(name: str, default: str, environ=None) -> dict:
    import dj_email_url

    value = env_str(name, default, environ)
    try:
        config = dj_email_url.parse(value)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"{name}: cannot parse {value!r}: {exc}") from None
    if "EMAIL_BACKEND" not in config:
        raise ImproperlyConfigured(
            f"{name}={value!r}: use smtp://, submission://, file://, console:// or memory://"
        )
    if config["EMAIL_BACKEND"].endswith("filebased.EmailBackend"):
        # file:///var/mail is an absolute path; dj-email-url would drop its first slash.
        config["EMAIL_FILE_PATH"] = urlparse(value).path
        if not config["EMAIL_FILE_PATH"]:
            raise ImproperlyConfigured(f"{name}={value!r} names no folder")
    return config


def broker_url(name: str, default: str, environ=None) -> str:
    value = env_str(name, default, environ)
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in {"filesystem", "redis", "rediss", "amqp", "amqps", "pyamqp", "memory"}:
        raise ImproperlyConfigured(
            f"{name}={value!r}: use redis://, amqp:// or filesystem:// (the embedded default)"
        )
    return value


def generated_secret(path: Path) -> str:
    """A random key made once and kept in PATH, so restarts and sibling processes agree."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    for _ in range(50):
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.05)  # another process created the file and is writing it
    raise ImproperlyConfigured(f"{path} is empty: delete it to generate a new key")


def vapid_public_key(private_key: str, name: str = "VAPID_PRIVATE_KEY") -> str:
    """The application server key browsers subscribe with (base64url, uncompressed P-256 point)
    of a VAPID private key given as base64url (the raw 32 bytes or DER) or PEM; a key that does
    not parse stops start-up naming NAME."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid

    try:
        if private_key.lstrip().startswith("-----BEGIN"):
            vapid = Vapid.from_pem(private_key.strip().encode())
        else:
            vapid = Vapid.from_string(private_key.strip())
        point = vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    except Exception as exc:  # noqa: BLE001 - any parse error is the same mistake
        raise ImproperlyConfigured(
            f"{name} is not a P-256 private key (base64url raw or DER, or PEM): {exc}"
        ) from None
    return base64.urlsafe_b64encode(point).decode().rstrip("=")


def generated_vapid_key(path: Path) -> str:
    """A VAPID private key (P-256, base64url of its 32 bytes) made once and kept in PATH."""
    import base64

    from cryptography.hazmat.primitives.asymmetric import ec

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        number = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.urlsafe_b64encode(number.to_bytes(32, "big")).decode().rstrip("="))
    for _ in range(50):
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.05)  # another process created the file and is writing it
    raise ImproperlyConfigured(f"{path} is empty: delete it to generate a new key")
