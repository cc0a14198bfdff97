"""`UsageBatch`: usage rows made ready for the driver as they arrive, with their daily sums kept as they go.

Preparing a row costs a few microseconds on the event loop's thread. Then the thread that writes the batch
runs almost no Python, and a thread that runs Python beside the event loop is what costs: each time the
loop gives up the GIL for a system call it may wait a whole switch interval to get it back.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

DailyKey = tuple[date, str, str, str]  # day, key id, deployment, endpoint ('' for none)


class UsageRow(NamedTuple):
    """One `usage_records` row, in column order (`started_at` timezone-aware)."""

    id: str
    started_at: datetime
    duration_ms: float
    first_byte_ms: float | None
    key_id: str | None
    deployment: str | None
    instance: str | None
    endpoint: str
    status: int
    streamed: bool
    client_gone: bool
    outcome: str
    bytes_out: int
    input_tokens: int
    output_tokens: int
    documents: int
    images: int
    characters: int
    audio_seconds: float


RAW_COLUMNS = UsageRow._fields
_STARTED, _KEY, _DEPLOYMENT, _ENDPOINT, _STATUS = 1, 4, 5, 7, 8
_SUMMED = tuple(range(12, 19))  # bytes_out .. audio_seconds, in the order of SUMS after requests and errors


def _day(started: Any) -> date:
    return date.fromisoformat(started[:10]) if isinstance(started, str) else started.date()


def accumulate(daily: dict[DailyKey, list[float]], values: tuple[Any, ...], day: date | None = None) -> None:
    """Add one prepared row to `daily`: [requests, errors, bytes_out, tokens..., audio_seconds]."""
    key = (day or _day(values[_STARTED]), values[_KEY] or "", values[_DEPLOYMENT] or "", values[_ENDPOINT])
    sums = daily.get(key)
    if sums is None:
        sums = daily[key] = [0] * (2 + len(_SUMMED))
    status = values[_STATUS]
    # Unrolled (`_SUMMED` in order): this runs for every request, on the event loop's thread.
    sums[0] += 1
    sums[1] += status >= 400 or status == 0
    sums[2] += values[12]
    sums[3] += values[13]
    sums[4] += values[14]
    sums[5] += values[15]
    sums[6] += values[16]
    sums[7] += values[17]
    sums[8] += values[18]


assert _SUMMED == (12, 13, 14, 15, 16, 17, 18)


def daily_of(values: Iterable[tuple[Any, ...]]) -> dict[DailyKey, list[float]]:
    """The daily sums of prepared rows."""
    daily: dict[DailyKey, list[float]] = {}
    for row in values:
        accumulate(daily, row)
    return daily


class UsageBatch:
    """Rows for one write: `values` as the driver takes them (`started_at` as text on SQLite, as SQLAlchemy
    stores it there), `daily` their sums per day, key, deployment and endpoint."""

    __slots__ = ("_day", "_second", "_text", "daily", "sqlite", "values")

    def __init__(self, sqlite: bool, rows: Iterable[UsageRow] = ()) -> None:
        self.sqlite = sqlite
        self.values: list[tuple[Any, ...]] = []
        self.daily: dict[DailyKey, list[float]] = {}
        self._second = -1  # the unix second `_text` and `_day` are of
        self._text = ""
        self._day = date(1970, 1, 1)
        for row in rows:
            self.add(row)

    def started(self, moment: float) -> tuple[Any, date]:
        """A unix time as this store's `started_at` takes it, and its UTC day (formatted once a second)."""
        second = int(moment)
        if second != self._second:
            self._second = second
            self._text = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(second))
            self._day = date.fromisoformat(self._text[:10])
        if self.sqlite:
            return f"{self._text}.{int((moment - second) * 1_000_000):06d}", self._day
        return datetime.fromtimestamp(moment, UTC), self._day

    def add_prepared(self, values: tuple[Any, ...], day: date) -> None:
        """Add a row already in the driver's form (`started_at` from `started()`)."""
        self.values.append(values)
        accumulate(self.daily, values, day)

    def __len__(self) -> int:
        return len(self.values)

    def add(self, row: UsageRow) -> None:
        """Prepare one row."""
        started = row.started_at.astimezone(UTC)
        stored: Any = started.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") \
            if self.sqlite else started
        values = (row[0], stored, *row[2:])
        self.values.append(values)
        accumulate(self.daily, values)

    def take_back(self, newer: UsageBatch, limit: int) -> int:
        """Put this failed batch's rows before `newer`'s, keeping `limit` at most; returns how many were
        dropped. The daily sums are recomputed when a retried batch is written."""
        self.values.extend(newer.values)
        dropped = max(0, len(self.values) - limit)
        if dropped:
            del self.values[limit:]
        return dropped
