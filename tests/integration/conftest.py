"""Real parts for the integration tests: Celery workers as separate processes on the configured
broker (Redis in CI's PostgreSQL run, the file-system broker otherwise), the test database, and
an SMTP server."""

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    """An SMTP server's message handler that can say "try later" a few times first, or hold
    the transaction of its HOLD_AT-th message (0-based) before accepting it until released, and
    refuses the addresses of REFUSE for good (550)."""

    def __init__(self, refuse_first: int = 0, hold_at: int | None = None, refuse=()):
        self.refuse_first = refuse_first
        self.refuse = set(refuse)
        self.refused = []  # addresses it answered 550
        self.messages = []
        self.hold_at = hold_at
        self.recipients_seen = 0
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            self.refused.append(address)
            return "550 5.1.1 No such user here"
        if self.recipients_seen == self.hold_at:
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
        self.recipients_seen += 1
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.refuse_first:
            self.refuse_first -= 1
            return "451 4.3.0 Try again later"
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    servers = []

    def start(
        refuse_first: int = 0, hold_at: int | None = None, refuse=(), port: int | None = None
    ) -> tuple[Recorder, int]:
        handler = Recorder(refuse_first, hold_at, refuse)
        port = port or free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        servers.append(controller)
        return handler, port

    yield start
    for controller in servers:
        controller.handler.release.set()
        controller.stop()


def free_port() -> int:
    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def workers(tmp_path):
    started = []

    def start(count: int, smtp_port: int) -> list[subprocess.Popen]:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "VAR_DIR": str(settings.VAR_DIR),
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        for _n in range(count):
            log = tmp_path / f"worker{len(started)}.log"
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "--app",
                    "config",
                    "worker",
                    "--pool",
                    "solo",
                    "--loglevel",
                    "INFO",
                    "--hostname",
                    f"test{len(started)}-{os.getpid()}@%h",
                    "--without-mingle",
                    "--without-gossip",
                ],
                cwd=ROOT,
                env=env,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
            )
            started.append((process, log))
        new = started[-count:]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all("ready" in log.read_text() for _p, log in new):
                return [p for p, _log in new]
            if any(p.poll() is not None for p, _log in new):
                break
            time.sleep(0.3)
        raise AssertionError(
            "workers did not start:\n" + "\n".join(log.read_text()[-2000:] for _p, log in new)
        )

    yield start
    for process, _log in started:
        process.terminate()
    for process, _log in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()
