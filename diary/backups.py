"""Backups of the configured database: pg_dump / pg_restore for PostgreSQL, SQLite's online
backup API for SQLite. Used by the backup_db and restore_db commands (make backup / restore)."""

import os
import shutil
import sqlite3

# pg_dump and pg_restore only, with fixed arguments and no shell.
import subprocess  # nosec B404
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connections

PG_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"
# Tables that a freshly migrated, never used database already fills.
BOOKKEEPING = {"django_migrations", "django_content_type", "auth_permission", "sqlite_sequence"}


class BackupError(Exception):
    pass


def _db(alias: str = "default") -> dict:
    return settings.DATABASES[alias]


def engine(alias: str = "default") -> str:
    return "postgresql" if _db(alias)["ENGINE"].endswith("postgresql") else "sqlite"


def default_path(alias: str = "default", now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    suffix = "pgdump" if engine(alias) == "postgresql" else "sqlite3"
    return Path(settings.VAR_DIR) / "backups" / f"ags-{stamp}.{suffix}"


def _pg_env(alias: str) -> dict:
    """libpq's variables: the password never appears on a command line."""
    db = _db(alias)
    env = {**os.environ, "PGDATABASE": db["NAME"]}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if db.get(key):
            env[var] = str(db[key])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return found


def _run(args: list[str], env: dict) -> None:
    # Fixed arguments, no shell: the only inputs are file and database names.
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603  # nosec B603
    if done.returncode:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip()[-2000:]}")


def backup(out: Path, alias: str = "default") -> Path:
    """Write a consistent copy of the database to OUT (readable by its owner only)."""
    out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = out.with_name(out.name + ".partial")
    partial.touch(mode=0o600)
    try:
        if engine(alias) == "postgresql":
            _run(
                [
                    _tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    "--file",
                    str(partial),
                ],
                _pg_env(alias),
            )
        else:
            source = sqlite3.connect(_db(alias)["NAME"])
            target = sqlite3.connect(partial)
            try:
                with target:
                    source.backup(target)
                if target.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                    raise BackupError("the copy failed SQLite's integrity check")
            finally:
                source.close()
                target.close()
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def tables_with_rows(alias: str = "default") -> dict[str, int]:
    """{table: rows} for the tables holding data, Django's own bookkeeping aside."""
    connection = connections[alias]
    counts = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table in BOOKKEEPING:
                continue
            # Table names come from the database itself, quoted.
            query = f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}"  # noqa: S608  # nosec B608
            cursor.execute(query)
            if n := cursor.fetchone()[0]:
                counts[table] = n
    return counts


def check_file(path: Path, alias: str = "default") -> None:
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    with path.open("rb") as handle:
        head = handle.read(16)
    expected = PG_MAGIC if engine(alias) == "postgresql" else SQLITE_MAGIC
    if not head.startswith(expected):
        kind = "PostgreSQL" if engine(alias) == "postgresql" else "SQLite"
        raise BackupError(f"{path} is not a {kind} backup (the database is {kind})")


def restore(path: Path, force: bool = False, alias: str = "default") -> None:
    """Replace the database's contents with the backup at PATH. Refuses to overwrite a
    database that holds data unless FORCE."""
    check_file(path, alias)
    if not force and (filled := tables_with_rows(alias)):
        sample = ", ".join(f"{t} ({n})" for t, n in sorted(filled.items())[:5])
        raise BackupError(
            f"the database {_db(alias)['NAME']} holds data ({sample}…): restoring would replace "
            "it. Check DATABASE_URL, then add --force (make restore FORCE=1) if you mean it."
        )
    connections[alias].close()
    if engine(alias) == "postgresql":
        _run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                "--dbname",
                _db(alias)["NAME"],
                str(path),
            ],
            _pg_env(alias),
        )
        return
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = sqlite3.connect(_db(alias)["NAME"], timeout=20)
    try:
        if source.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError(f"{path} failed SQLite's integrity check")
        with target:
            source.backup(target)
    finally:
        source.close()
        target.close()
