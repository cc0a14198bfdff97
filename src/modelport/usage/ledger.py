"""`UsageLedger`: usage records buffered in memory and written to the store in batches.

The request path only adds a prepared row to a batch (bounded: past `max_buffered` records are dropped and
counted, so a store that is down never grows the process without bound). A task writes the buffer every `interval`
seconds in one transaction (off the event loop's thread); a failed batch goes back to the buffer for the
next turn. `close()` (the lifespan's shutdown, after the drain) writes what is left, so SIGTERM loses
nothing and a crash at most the last interval. Raw rows older than the retention are pruned hourly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from modelport.store.usage import UsageStore
from modelport.store.usage_batch import UsageBatch
from modelport.usage.record import UsageRecord

log = logging.getLogger(__name__)
PRUNE_EVERY = 3600.0  # seconds


def prepared(record: UsageRecord, batch: UsageBatch) -> tuple[tuple[Any, ...], date]:
    """The `usage_records` row of a finished record, in the driver's form for `batch`, and its day."""
    units = record.units
    first_byte = record.first_byte
    started, day = batch.started(record.started_at)
    return (
        record.id, started, (record.ended - record.t0) * 1000,
        None if first_byte is None else (first_byte - record.t0) * 1000, record.key_id, record.deployment,
        record.instance, record.endpoint, record.status, record.streamed, record.client_gone,
        record.final_outcome, record.bytes_out, units.input_tokens, units.output_tokens, units.documents,
        units.images, units.characters, units.audio_seconds,
    ), day


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

    def add(self, record: UsageRecord) -> None:
        """Queue a finished record (never waits)."""
        if len(self._buffer) >= self.max_buffered:
            self.dropped += 1
            if self._on_drop is not None:
                self._on_drop()
            if self.dropped == 1 or self.dropped % 10_000 == 0:
                log.warning("usage buffer full (%d records): %d records dropped so far", self.max_buffered,
                            self.dropped)
            return
        self._count += 1
        record.id = f"{self._id_prefix}{self._count:012x}"
        self._buffer.add_prepared(*prepared(record, self._buffer))  # ready for the driver now (usage_batch.py)

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
