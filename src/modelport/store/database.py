"""Engine creation, per-connection SQLite settings, URL normalisation and migrations.

SQLite connections run in WAL mode with foreign keys on and a 5 s busy timeout. pysqlite's own
transaction handling is switched off and SQLAlchemy emits `BEGIN` itself, so DDL is transactional and
writers can ask for `BEGIN IMMEDIATE` (taking the write lock up front, waiting on `busy_timeout`,
instead of failing when a read turns into a write).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL, Connection, Engine, make_url

from modelport.private_files import private_file, tighten_if_present

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
# Any constant: held (per transaction) while migrating PostgreSQL so that two gateways starting
# together don't both try to create the schema.
MIGRATION_LOCK_KEY = 0x6D6F64656C706F
_BEGIN_OPTION = "modelport_sqlite_begin"


def normalise_url(url: str) -> URL:
    """Parse a store URL, mapping `postgres://` and `postgresql://` to the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ValueError(
            "an in-memory SQLite store is not supported: give a file URL, e.g. sqlite:///DIR/modelport.db"
        )
    return parsed


def create_engine(url: URL) -> Engine:
    """An engine for `url` (already normalised) that may be shared by many threads."""
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    database = url.database or ""
    if not database.startswith("file:"):
        _private_sqlite_file(Path(database).expanduser())
    engine = sa.create_engine(url, connect_args={"check_same_thread": False})
    sa.event.listen(engine, "connect", _configure_sqlite_connection)
    sa.event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _private_sqlite_file(path: Path) -> None:
    """Create the store's folder (0700 when new; an existing one is the user's choice) and the file itself
    0600, or tighten it and its -wal and -shm to 0600. SQLite gives new -wal and -shm files the mode of the
    database file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # An existing store is never opened here: closing any descriptor of it drops every POSIX lock this process
    # holds on it (a second engine in a process that has one), and another process may then delete the -wal
    # that our open connections still write to: their commits never reach the others.
    if path.exists():
        tighten_if_present(path)
    else:
        private_file(path)
    for suffix in ("-wal", "-shm"):
        tighten_if_present(path.with_name(path.name + suffix))


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    """Run on every new SQLite connection: our own BEGINs, WAL, foreign keys, busy timeout."""
    dbapi_connection.isolation_level = None  # stop pysqlite from issuing (or skipping) BEGIN itself
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _ensure_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _ensure_wal(cursor: Any) -> None:
    """Switch the file to WAL (it stays so). The switch needs the file to itself and SQLite does not wait
    for it on the busy timeout, so processes opening a new store at once (`--workers`, a CLI beside the
    server) retry briefly instead of failing with "database is locked"."""
    if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _begin_sqlite_transaction(connection: Connection) -> None:
    """Emit BEGIN (or BEGIN IMMEDIATE for a connection opened by `write_connection`)."""
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "")
    connection.exec_driver_sql(f"BEGIN {mode}".strip())


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a read transaction, rolled back (nothing to keep) at the end."""
    with engine.connect() as connection:
        yield connection


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction, committed at the end or rolled back on error."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection = connection.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        with connection.begin():
            yield connection


def alembic_config() -> Config:
    """An Alembic config built in code, pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to `revision`, in one transaction, serialised between processes."""
    config = alembic_config()
    with write_transaction(engine) as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
