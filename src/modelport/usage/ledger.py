"""`UsageLedger`: usage records buffered in memory and written to the store in batches.

The request path only appends its finished record to a list; every `SETTLE_SECONDS` `settle()` turns the
records gathered into rows in one tight loop (much cheaper than the same work spread over the requests) and
hands them to the listeners (the metrics, the access log; a scrape settles first, so it misses none). The
buffer is bounded: past `max_buffered` records are dropped and counted, so a store that is down never grows
the process without bound. A task writes the buffer every `interval` seconds in one transaction (off the
event loop's thread); a failed batch goes back to the buffer for the next turn. `close()` (the lifespan's
shutdown, after the drain) writes what is left, so SIGTERM loses nothing and a crash at most the last
interval. Raw rows older than the retention are pruned hourly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from modelport.store.usage import UsageStore
from modelport.store.usage_batch import UsageBatch
from modelport.usage.record import UsageRecord

log = logging.getLogger(__name__)
PRUNE_EVERY = 3600.0  # seconds
SETTLE_SECONDS = 0.05  # finished records are turned into rows (and counted, and logged) this often
Listener = Callable[[list[UsageRecord], list[tuple[Any, ...]]], None]  # records and their rows, in order


class UsageLedger:
    """The buffer and its writer. `add()` on the event loop; `run()` as a task; `close()` at shutdown."""

    def __init__(self, store: UsageStore, interval: float = 2.0, max_buffered: int = 100_000,
                 retention_days: float = 90.0, on_drop: Callable[[], None] | None = None) -> None:
        self._store = store
        self.interval = interval
        self.max_buffered = max_buffered
        self.retention = timedelta(days=retention_days)
        self._on_drop = on_drop
        self._buffer: UsageBatch = store.batch()
        self._lock = asyncio.Lock()
        self._pruned_at = 0.0
        self._retry = False  # the last write failed: the next one skips rows already stored
        self.dropped = 0
        self.written = 0
        self._id_prefix = os.urandom(10).hex()  # 80 random bits per process, then a counter: 32 characters
        self._count = 0
        self._pending: list[UsageRecord] = []  # finished since the last settle()
        self.listeners: list[Listener] = []  # called with each settled list of records and their rows

    def add(self, record: UsageRecord) -> None:
        """Queue a finished record (never waits); it becomes a row within `SETTLE_SECONDS`."""
        pending = self._pending
        pending.append(record)
        if len(pending) == 1:
            asyncio.get_running_loop().call_later(SETTLE_SECONDS, self.settle)

    def settle(self) -> None:
        """Turn the queued records into rows and hand both to the listeners. Never raises."""
        records, self._pending = self._pending, []
        if not records:
            return
        try:
            rows = self._rows(records)
            for listener in self.listeners:
                listener(records, rows)
        except Exception:
            log.exception("recording the usage of %d requests failed", len(records))

    def _rows(self, records: list[UsageRecord]) -> list[tuple[Any, ...]]:
        buffer = self._buffer
        room = self.max_buffered - len(buffer)
        rows = []
        prefix, count, started = self._id_prefix, self._count, buffer.started
        for record in records:
            count += 1
            record.id = f"{prefix}{count:012x}"
            units, t0, first_byte = record.units, record.t0, record.first_byte
            stamp, day = started(record.started_at)
            row = (record.id, stamp, (record.ended - t0) * 1000,
                   None if first_byte is None else (first_byte - t0) * 1000, record.key_id, record.deployment,
                   record.instance, record.endpoint, record.status, record.streamed, record.client_gone,
                   record.final_outcome, record.bytes_out, units.input_tokens, units.output_tokens,
                   units.documents, units.images, units.characters, units.audio_seconds)
            rows.append(row)
            if room > 0:
                room -= 1
                buffer.add_prepared(row, day)  # ready for the driver now (usage_batch.py)
            else:
                self._dropped()
        self._count = count
        return rows

    def _dropped(self) -> None:
        self.dropped += 1
        if self._on_drop is not None:
            self._on_drop()
        if self.dropped == 1 or self.dropped % 10_000 == 0:
            log.warning("usage buffer full (%d records): %d records dropped so far", self.max_buffered,
                        self.dropped)

    async def run(self) -> None:
        """Write the buffer every `interval` seconds, and prune old raw rows now and then."""
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()
            if time.monotonic() - self._pruned_at > PRUNE_EVERY:
                self._pruned_at = time.monotonic()
                await self._prune()

    async def flush(self) -> None:
        """Write what is buffered now, in one transaction; on failure keep it for the next turn."""
        self.settle()
        async with self._lock:
            batch, self._buffer = self._buffer, self._store.batch()
            if not batch:
                return
            retry, self._retry = self._retry, False
            try:
                self.written += await asyncio.to_thread(self._write, batch, retry)
            except Exception:
                log.exception("writing %d usage records failed; retrying at the next flush", len(batch))
                self._retry = True  # it may have been committed all the same: the next write checks
                self.dropped += batch.take_back(self._buffer, self.max_buffered)
                self._buffer = batch

    def _write(self, batch: UsageBatch, retry: bool) -> int:
        return self._store.write(batch, retry=retry)

    async def _prune(self) -> None:
        before = datetime.now(UTC) - self.retention
        try:
            removed = await asyncio.to_thread(self._store.prune, before)
        except Exception:
            log.exception("pruning usage records failed")
            return
        if removed:
            log.info("pruned %d usage records older than %s", removed, before.isoformat())

    async def close(self, task: asyncio.Task[None] | None) -> None:
        """Stop the writer task and write what is left."""
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()
        if self._buffer:
            await self.flush()  # one retry for a batch that just failed
