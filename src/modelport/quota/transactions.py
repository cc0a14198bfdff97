"""The counter's transactions, on the driver's own connections, in as few round trips as the logic allows.

SQLAlchemy's `Connection`, its transaction objects and `exec_driver_sql` cost more CPU per admission than
the statements themselves (bench/limits_profile.py), so the counter takes DBAPI connections from the
engine's pool and runs its plain SQL on them, through a `Batch`: statements whose results it does not read
are queued (`run`), and a statement it reads (`rows`) or the commit sends what is queued with it.

- SQLite: statements run as they come (nothing goes over a network), on one connection for the process,
  held for good: one thread at a time uses it (SQLite has one writer at a time anyway), `BEGIN IMMEDIATE`
  takes the write lock up front, and the sqlite3 module keeps each statement prepared.
- PostgreSQL: connections are taken from the pool once and kept by the counter, one per thread that ran
  a transaction at once (the gateway's few executor threads). What is queued goes with the next read or
  the commit as one simple-protocol query of several statements (parameters written in as literals:
  `literal`), so an admission is two round trips (`BEGIN`, the key's lock and the reads; the writes and
  `COMMIT`) and a settlement one. Each statement of such a query still takes its own snapshot (READ
  COMMITTED), so reads made after the lock see every count committed before it was granted: admissions
  stay exact. psycopg's pipeline mode, and its own client-side binding (`ClientCursor.mogrify`), did the
  same in more CPU.
"""

from __future__ import annotations

import contextlib
import functools
import math
import queue
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.engine import Engine

Row = Sequence[Any]
_PLACEHOLDER = re.compile(r"%\(([a-z_]+)\)s")


def literal(value: Any) -> str:
    """`value` (an int, a finite float or a str) as a PostgreSQL literal. Strings are escape strings (`E'…'`),
    which the server reads the same whatever `standard_conforming_strings` says (a pooler may hand the query to
    a session that never saw our SET): backslashes and quotes doubled. The counter's sessions are UTF-8
    (`client_encoding`), where no byte of a multibyte character is a quote or backslash; a NUL, which no text
    value may hold, is refused."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str:
        if "\x00" in value:
            raise ValueError("text holds no NUL")
        return "E'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"
    if kind is float:
        if not math.isfinite(value):
            raise ValueError("a count is never infinite")
        return repr(value)
    raise TypeError(f"no literal for {kind.__name__}")


@functools.cache
def _template(statement: str) -> str:
    """`statement` with its `%(name)s` parameters as `{name}` fields (the statements hold no braces)."""
    assert "{" not in statement and "}" not in statement
    return _PLACEHOLDER.sub(r"{\1}", statement)


def render(statement: str, params: Mapping[str, Any]) -> str:
    """`statement` with each `%(name)s` replaced by `params[name]` as a literal."""
    return _template(statement).format_map({name: literal(value) for name, value in params.items()})


class Batch(Protocol):
    """One write transaction: `run` a statement whose result is not needed, `rows` one that is read."""

    def run(self, statement: str, params: Mapping[str, Any]) -> None: ...

    def rows(self, statement: str, params: Mapping[str, Any]) -> list[Row]: ...


class _SqliteBatch:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def run(self, statement: str, params: Mapping[str, Any]) -> None:
        self._cursor.execute(statement, params)

    def rows(self, statement: str, params: Mapping[str, Any]) -> list[Row]:
        return self._cursor.execute(statement, params).fetchall()  # type: ignore[no-any-return]


class _PostgresBatch:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor  # on a connection in autocommit mode: the batch says BEGIN and COMMIT itself
        self._pending = ["BEGIN"]
        self.begun = False

    def run(self, statement: str, params: Mapping[str, Any]) -> None:
        self._pending.append(render(statement, params))

    def rows(self, statement: str, params: Mapping[str, Any]) -> list[Row]:
        self.run(statement, params)
        self._send()
        while self._cursor.nextset():  # to the result of the last statement sent, the one asked for
            pass
        return self._cursor.fetchall()  # type: ignore[no-any-return]

    def commit(self) -> None:
        if self.begun or len(self._pending) > 1:
            self._pending.append("COMMIT")
            self._send()

    def _send(self) -> None:
        query, self._pending = "; ".join(self._pending), []
        self.begun = True
        self._cursor.execute(query)  # no parameters: the simple protocol, several statements at once


class Transactions:
    """Write transactions on `engine`, as `Batch`es. Thread-safe."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.postgres = engine.dialect.name != "sqlite"
        self._sqlite: Any = None  # SQLite: the process's one pooled connection, taken at first use
        self._sqlite_lock = threading.Lock()
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()  # PostgreSQL: connections kept, not in use

    @contextlib.contextmanager
    def write(self) -> Iterator[Batch]:
        """A batch in a write transaction, committed at the end or rolled back on an error."""
        if self.postgres:
            with self._postgres() as batch:
                yield batch
            return
        with self._sqlite_lock:
            if self._sqlite is None:
                self._sqlite = self._engine.raw_connection()
            cursor = self._sqlite.driver_connection.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
                try:
                    yield _SqliteBatch(cursor)
                except BaseException:
                    cursor.execute("ROLLBACK")
                    raise
                cursor.execute("COMMIT")
            finally:
                cursor.close()

    @contextlib.contextmanager
    def _postgres(self) -> Iterator[Batch]:
        pooled: Any
        try:
            pooled = self._idle.get_nowait()
        except queue.Empty:
            pooled = self._engine.raw_connection()
            pooled.driver_connection.autocommit = True
            pooled.driver_connection.prepare_threshold = None  # every query text differs: nothing to prepare
        connection = pooled.driver_connection
        try:
            with connection.cursor() as cursor:
                batch = _PostgresBatch(cursor)
                try:
                    yield batch
                    batch.commit()
                except BaseException:
                    if not connection.broken and batch.begun:
                        connection.rollback()
                    raise
        except BaseException:
            if connection.broken or connection.closed:
                pooled.invalidate()  # dropped by the server: a new one is opened next time
                pooled.close()
                raise
            self._idle.put(pooled)
            raise
        self._idle.put(pooled)

    def close(self) -> None:
        """Give the held connection back and close them all."""
        with self._sqlite_lock:
            if self._sqlite is not None:
                self._sqlite.close()
                self._sqlite = None
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break
        self._engine.dispose()
