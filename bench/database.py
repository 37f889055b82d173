"""The benchmarks' own database, never the demo's or a user's: BENCH_DATABASE_URL if set, else
DATABASE_URL's server with `_bench` after the database name (created if missing), else
`bench.sqlite3` under VAR_DIR. It is kept between runs so that the generated cohort is loaded
once."""

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def bench_database_url(environ: dict) -> str:
    if environ.get("BENCH_DATABASE_URL"):
        return environ["BENCH_DATABASE_URL"]
    url = environ.get("DATABASE_URL")
    if not url:
        var = Path(environ.get("VAR_DIR") or ROOT / "var").resolve()
        return f"sqlite:///{var / 'bench.sqlite3'}"
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite://"))
        return f"sqlite://{path.with_name(f'{path.stem}-bench.sqlite3')}"
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "postgres"
    return urlunsplit(parts._replace(path=f"/{name}_bench"))


def create_if_missing(url: str) -> None:
    """A PostgreSQL database named by URL, made on its server if it is not there yet."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
        return
    parts = urlsplit(url)
    import psycopg
    from psycopg import sql

    name = parts.path.lstrip("/")
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if found.fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def use_bench_database(environ=os.environ) -> str:
    """Point this process (and the servers it starts) at the benchmarks' database; before
    Django is set up."""
    url = bench_database_url(environ)
    create_if_missing(url)
    environ["DATABASE_URL"] = url
    return url
