"""The counter's own connections to the store, committing without waiting for the disk.

A count is worth less than a key or a deployment: after a power cut (not a crash of the gateway or of the
database process) the last moments of counts may be forgotten, which only lets a few requests more in.
That is what waiting for the disk on every admission would buy, at a cost of milliseconds per request,
so the counter's transactions do not: SQLite connections of its own run `synchronous=NORMAL` (in WAL mode a
commit then reaches the OS, not the platter), and on PostgreSQL its sessions set `synchronous_commit` off
(a commit returns before its WAL is flushed; nothing is ever corrupted).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelport.store.database import create_engine, normalise_url


def counter_engine(url: str) -> Engine:
    """An engine on the store at `url` for the quota counter alone. On PostgreSQL its pool does not ping a
    connection before each use (two round trips per request); one the server dropped fails one admission
    and is replaced. The counter keeps the connections it took (`quota.transactions`), one per executor
    thread at most, so the pool may hand out as many as the largest default executor has threads."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = sa.create_engine(parsed, pool_size=8, max_overflow=32)
        sa.event.listen(engine, "connect", _relaxed_postgres)
        return engine
    engine = create_engine(parsed)
    sa.event.listen(engine, "connect", _relaxed_sqlite)
    return engine


def _relaxed_postgres(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
        cursor.execute("SET client_encoding TO 'UTF8'")  # what quota.transactions.literal's quoting assumes
    dbapi_connection.commit()


def _relaxed_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()

