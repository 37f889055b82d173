"""make backup / make restore: a backup restored into a scratch database has every row of every
table; a database holding data is not overwritten without --force."""

import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from diary import recording
from diary.models import DiaryEntry
from outcomes.labs import record_lab
from tests.conftest import AGS_ANSWERS, prescribe

ROOT = Path(__file__).resolve().parents[1]
CONFIGURED = "postgresql" if connection.vendor == "postgresql" else "sqlite"
# SQLite always; PostgreSQL too when the suite runs on it.
ENGINES = ["sqlite"] + (["postgresql"] if CONFIGURED == "postgresql" else [])

pytestmark = pytest.mark.django_db(transaction=True)


def manage(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "VAR_DIR": str(settings.VAR_DIR)}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def pg_url(name: str) -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def pg_admin(sql: str) -> None:
    db = connection.settings_dict
    with psycopg.connect(
        dbname="postgres",
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        autocommit=True,
    ) as conn:
        conn.execute(sql)


def row_counts(database_url: str) -> dict[str, int]:
    """{table: rows} of every table, read with the driver directly."""
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        tables = [
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        counts = {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608
        conn.close()
        return counts
    with psycopg.connect(database_url.replace("postgres://", "postgresql://")) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        ]
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608


def fill(world) -> None:
    """Rows in the diary, the doses, the labs and their history tables."""
    prescribe(world.amy)
    for n in range(5):
        recording.record(
            DiaryEntry,
            world.amy,
            world.alice,
            f"00000000-0000-4000-8000-00000000000{n}",
            world.amy.today() - timedelta(days=n),
            {"scores": AGS_ANSWERS, "note": f"day {n}"},
        )
    record_lab(world.amy, world.carol, "neutrophils", world.amy.today(), "0.3", "×10⁹/L")


@pytest.fixture
def scratch(tmp_path):
    """DATABASE_URLs of a source and of an empty target, per engine."""
    made = []

    def make(engine: str, role: str) -> str:
        if engine == "sqlite":
            return f"sqlite:///{tmp_path / f'{role}.sqlite3'}"
        name = f"{connection.settings_dict['NAME']}_{role}"
        pg_admin(f'DROP DATABASE IF EXISTS "{name}"')
        pg_admin(f'CREATE DATABASE "{name}"')
        made.append(name)
        return pg_url(name)

    yield make
    for name in made:
        pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("engine", ENGINES)
def test_a_backup_restores_every_row_of_every_table(engine, world, scratch, tmp_path):
    if engine == CONFIGURED:
        # The test database itself, as the app left it.
        fill(world)
        source = (
            f"sqlite:///{connection.settings_dict['NAME']}"
            if engine == "sqlite"
            else pg_url(connection.settings_dict["NAME"])
        )
    else:
        source = scratch(engine, "source")
        for args in (["migrate", "-v0"], ["seed_demo", "--cohort", "0"]):
            done = manage(source, *args)
            assert done.returncode == 0, done.stderr
    made = manage(source, "backup_db", "--out", str(tmp_path))
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.split()[0])
    assert backup.parent == tmp_path and backup.stat().st_mode & 0o077 == 0
    assert backup.name.startswith("ags-20")

    target = scratch(engine, "target")
    restored = manage(target, "restore_db", str(backup))
    assert restored.returncode == 0, restored.stderr
    expected = row_counts(source)
    assert sum(1 for n in expected.values() if n) >= 8  # a comparison of something
    assert row_counts(target) == expected

    # 3 a.m.: the same command again, on a database that now holds data, changes nothing.
    marker = (
        "INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'x', CURRENT_TIMESTAMP)"
    )
    if engine == "sqlite":
        conn = sqlite3.connect(target.removeprefix("sqlite:///"))
        with conn:
            conn.execute(marker)
        conn.close()
    else:
        with psycopg.connect(target.replace("postgres://", "postgresql://")) as conn:
            conn.execute(marker)
    changed = row_counts(target)
    assert changed["django_migrations"] == expected["django_migrations"] + 1
    refused = manage(target, "restore_db", str(backup))
    assert refused.returncode != 0
    assert "--force" in refused.stderr and "holds data" in refused.stderr
    assert row_counts(target) == changed
    forced = manage(target, "restore_db", "--force", str(backup))
    assert forced.returncode == 0, forced.stderr
    assert row_counts(target) == expected


def test_a_backup_of_the_other_engine_is_refused(world, tmp_path):
    wrong = tmp_path / ("x.sqlite3" if CONFIGURED == "postgresql" else "x.pgdump")
    wrong.write_bytes(b"SQLite format 3\x00" if CONFIGURED == "postgresql" else b"PGDMP\x01")
    done = manage(
        f"sqlite:///{connection.settings_dict['NAME']}"
        if CONFIGURED == "sqlite"
        else pg_url(connection.settings_dict["NAME"]),
        "restore_db",
        "--force",
        str(wrong),
    )
    assert done.returncode != 0 and "is not a" in done.stderr
    assert DiaryEntry.objects.count() == 0 and world.amy.pk
