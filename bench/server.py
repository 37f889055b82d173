"""A production-like server for the HTTP scenarios: gunicorn with 2 sync workers, DEBUG=0,
static files collected with the production storage and served by whitenoise, on the same
DATABASE_URL as the harness. Started once per run and stopped when the harness exits."""

import atexit
import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
PORTS = range(8111, 8120)
# The server believes it sits behind a TLS proxy, as in production (SECURE_PROXY_SSL_HEADER).
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}

_server: dict = {}


def _free_port() -> int:
    wanted = os.environ.get("BENCH_PORT")
    for port in [int(wanted)] if wanted else PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port among {list(PORTS)}: set BENCH_PORT")


def _environment(port: int) -> dict:
    from django.conf import settings

    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PSEUDONYM_KEY": secrets.token_urlsafe(32),
        "VAPID_PRIVATE_KEY": settings.VAPID_PRIVATE_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": f"https://127.0.0.1:{port}",
        "VAR_DIR": str(_var_dir()),
        "BENCH_BASELINE_VIEW": "1",
        "LOG_LEVEL": "WARNING",
        # The harness's own database and broker, whatever their defaults resolved to.
        "DATABASE_URL": os.environ.get("DATABASE_URL") or _database_url(settings),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    env.pop("SECRET_KEY_FILE", None)
    env.pop("PSEUDONYM_KEY_FILE", None)
    env.pop("VAPID_PRIVATE_KEY_FILE", None)
    return env


def _var_dir() -> Path:
    """The server's own static root, keys and caches, under the harness's VAR_DIR."""
    from django.conf import settings

    return settings.VAR_DIR / "bench-server"


def _database_url(settings) -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    raise RuntimeError("set DATABASE_URL for the HTTP scenarios")


def _wait(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz", headers=PROXY_HEADERS)
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on port {port} within {timeout:.0f} s")


def _stop() -> None:
    process = _server.pop("process", None)
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # gunicorn's graceful stop of its own workers
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def base_url() -> str:
    """http://127.0.0.1:PORT of the running server, starting it on first use."""
    if "url" in _server:
        return _server["url"]
    port = _free_port()
    env = _environment(port)
    _var_dir().mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    collected = time.perf_counter() - started
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(  # noqa: S603 - the project's own gunicorn
        [
            str(gunicorn),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    _server["process"] = process
    atexit.register(_stop)
    _wait(port, process)
    _server["url"] = f"http://127.0.0.1:{port}"
    print(
        f"server: gunicorn, {WORKERS} sync workers, DEBUG=0 on port {port} "
        f"(collectstatic {collected:.1f} s, up {time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    return _server["url"]
