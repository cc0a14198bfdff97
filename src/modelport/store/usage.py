"""The usage ledger's tables: `usage_records` (one row per request, kept for a retention) and `usage_daily`
(sums per UTC day, key, deployment and endpoint, kept for good, so a year of reports stays fast).

`UsageStore.write(rows)` runs one transaction per batch: the raw rows are inserted and added to the daily
sums (an upsert that adds). Each gateway writes only the rows it made, under ids unique to each request, so
with several workers or gateways on one store nothing is counted twice. A batch written again after a
failure (`retry=True`: its commit may have happened, its answer lost) first drops the rows already stored,
so it adds nothing twice either; a plain executemany keeps the usual batch cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from modelport.store.database import read_transaction, write_transaction
from modelport.store.schema import usage_daily, usage_records
from modelport.store.usage_batch import RAW_COLUMNS, DailyKey, UsageBatch, UsageRow, daily_of

SUMS = ("requests", "errors", "bytes_out", "input_tokens", "output_tokens", "documents", "images",
        "characters", "audio_seconds")
GROUPS = ("day", "hour", "key", "deployment", "endpoint")
_DAILY_KEY = ("day", "key_id", "deployment", "endpoint")


@dataclass(frozen=True)
class UsageQuery:
    """A report's filters (None: any) and its grouping (one of `GROUPS`, or None for one total row).
    Grouped by hour, the raw rows answer (within their retention); otherwise the daily sums do, and
    `since`/`until` count by whole UTC days."""

    key_id: str | None = None
    deployment: str | None = None
    endpoint: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    group: str | None = None


class UsageStore:
    """The usage ledger on one engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def batch(self, rows: Sequence[UsageRow] = ()) -> UsageBatch:
        """An empty batch for this store (or one of `rows`), to `add()` rows to and `write()`."""
        return UsageBatch(self._engine.dialect.name == "sqlite", rows)

    def write(self, batch: UsageBatch, retry: bool = False) -> int:
        """Insert a batch of raw rows and add them to the daily sums, in one transaction; returns how many
        were new. With `retry`, rows whose id is already stored are skipped."""
        values, daily = batch.values, batch.daily
        with write_transaction(self._engine) as connection:
            if retry:
                values = _not_stored(connection, values)
                daily = daily_of(values)
            if values:
                _insert_raw(connection, values)
                _add_to_daily(connection, daily)
            return len(values)

    def report(self, query: UsageQuery) -> list[dict[str, Any]]:
        """Sums per group, ordered by group; each row holds `group` (absent without grouping) and `SUMS`."""
        with read_transaction(self._engine) as connection:
            if query.group == "hour":
                return _hourly(connection, query)
            return _daily(connection, query)

    def prune(self, before: datetime) -> int:
        """Delete the raw rows of requests started before `before`; the daily sums stay."""
        with write_transaction(self._engine) as connection:
            result = connection.execute(usage_records.delete().where(usage_records.c.started_at < before))
            return int(result.rowcount or 0)

    def count_raw(self) -> int:
        """How many raw rows there are (for tests and diagnostics)."""
        with read_transaction(self._engine) as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(usage_records)).scalar_one())


def _insert(connection: Connection, table: sa.Table) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


assert RAW_COLUMNS == tuple(column.name for column in usage_records.columns)
ROWS_PER_STATEMENT = 400  # 19 columns: 7,600 parameters, under SQLite's 32,766 and PostgreSQL's 65,535


def _statement_sizes(count: int) -> list[int]:
    """Rows per INSERT for `count` rows: `ROWS_PER_STATEMENT` while that many are left, then powers of two.
    Few distinct statements: the driver caches each text it sees (prepared, per connection; a 400-row
    statement is a large program), and a size per batch remainder grew the gateway by ~1 KiB a request."""
    sizes = [ROWS_PER_STATEMENT] * (count // ROWS_PER_STATEMENT)
    rest, size = count % ROWS_PER_STATEMENT, 1 << (ROWS_PER_STATEMENT.bit_length() - 1)
    while rest:
        if rest >= size:
            sizes.append(size)
            rest -= size
        size >>= 1
    return sizes


def _insert_raw(connection: Connection, values: Sequence[tuple[Any, ...]]) -> None:
    """Multi-row INSERTs straight to the driver (`_statement_sizes`): SQLAlchemy's per-row processing cost
    more than the insert, and few statements mean few waits for the GIL."""
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    group = f"({', '.join([mark] * len(RAW_COLUMNS))})"
    head = f"INSERT INTO usage_records ({', '.join(RAW_COLUMNS)}) VALUES "
    start = 0
    for size in _statement_sizes(len(values)):
        chunk = values[start:start + size]
        start += size
        connection.exec_driver_sql(head + ", ".join([group] * size), tuple(chain.from_iterable(chunk)))


def _not_stored(connection: Connection, values: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    stored: set[str] = set()
    ids = [row[0] for row in values]
    for start in range(0, len(ids), 500):
        query = sa.select(usage_records.c.id).where(usage_records.c.id.in_(ids[start:start + 500]))
        stored.update(connection.execute(query).scalars())
    return [row for row in values if row[0] not in stored]


def _add_to_daily(connection: Connection, daily: dict[DailyKey, list[float]]) -> None:
    values = [dict(zip(_DAILY_KEY, key, strict=True)) | dict(zip(SUMS, sums, strict=True))
              for key, sums in sorted(daily.items())]
    statement = _insert(connection, usage_daily)
    statement = statement.on_conflict_do_update(
        index_elements=list(_DAILY_KEY),
        set_={name: usage_daily.c[name] + statement.excluded[name] for name in SUMS},
    )
    connection.execute(statement, values)  # sorted: concurrent writers lock rows in one order


def _filters(table: sa.Table, query: UsageQuery) -> list[Any]:
    conditions = []
    for column, value in (("key_id", query.key_id), ("deployment", query.deployment),
                          ("endpoint", query.endpoint)):
        if value is not None:
            conditions.append(table.c[column] == value)
    return conditions


def _daily(connection: Connection, query: UsageQuery) -> list[dict[str, Any]]:
    table = usage_daily
    conditions = _filters(table, query)
    if query.since is not None:
        conditions.append(table.c.day >= query.since.date())
    if query.until is not None:
        conditions.append(table.c.day <= query.until.date())
    column = {"day": table.c.day, "key": table.c.key_id, "deployment": table.c.deployment,
              "endpoint": table.c.endpoint}.get(query.group or "")
    sums = [sa.func.sum(table.c[name]).label(name) for name in SUMS]
    return _run(connection, table, column, sums, conditions)


def _hourly(connection: Connection, query: UsageQuery) -> list[dict[str, Any]]:
    table = usage_records
    conditions = _filters(table, query)
    if query.since is not None:
        conditions.append(table.c.started_at >= query.since)
    if query.until is not None:
        conditions.append(table.c.started_at < query.until)
    if connection.dialect.name == "postgresql":
        hour = sa.func.to_char(sa.func.timezone("UTC", table.c.started_at), 'YYYY-MM-DD"T"HH24":00Z"')
    else:
        hour = sa.func.strftime("%Y-%m-%dT%H:00Z", table.c.started_at)
    errors = sa.func.sum(sa.case((sa.or_(table.c.status >= 400, table.c.status == 0), 1), else_=0))
    sums = [sa.func.count().label("requests"), errors.label("errors"),
            *(sa.func.sum(table.c[name]).label(name) for name in SUMS[2:])]
    return _run(connection, table, hour, sums, conditions)


def _run(connection: Connection, table: sa.Table, group: Any, sums: list[Any],
         conditions: list[Any]) -> list[dict[str, Any]]:
    columns = [group.label("group"), *sums] if group is not None else sums
    statement = sa.select(*columns).select_from(table).where(*conditions)
    if group is not None:
        statement = statement.group_by(group).order_by(group)
    rows = []
    for row in connection.execute(statement).mappings():
        if group is None and row["requests"] is None:
            continue  # no rows at all
        values = {name: (row[name] or 0) for name in SUMS}
        values["audio_seconds"] = float(values["audio_seconds"])
        for name in SUMS[:-1]:
            values[name] = int(values[name])
        entry: dict[str, Any] = {}
        if group is not None:
            value = row["group"]
            entry["group"] = value.isoformat() if isinstance(value, date) else value
        rows.append(entry | values)
    return rows
