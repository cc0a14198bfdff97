"""`UsageLedger`: usage records buffered in memory and written to the store in batches.

The request path only appends to a list (bounded: past `max_buffered` records are dropped and counted, so a
store that is down never grows the process without bound). A task writes the buffer every `interval`
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
from datetime import UTC, datetime, timedelta
from typing import Any

from modelport.store.usage import UsageStore
from modelport.usage.record import UsageRecord

log = logging.getLogger(__name__)
PRUNE_EVERY = 3600.0  # seconds


def row_of(record: UsageRecord) -> dict[str, Any]:
    """The `usage_records` row of a finished record."""
    units = record.units
    first_byte = record.ttfb
    return {
        "id": record.id, "started_at": datetime.fromtimestamp(record.started_at, UTC),
        "duration_ms": round(record.duration * 1000, 3),
        "first_byte_ms": None if first_byte is None else round(first_byte * 1000, 3),
        "key_id": record.key_id, "deployment": record.deployment, "instance": record.instance,
        "endpoint": record.endpoint, "status": record.status, "streamed": record.streamed,
        "client_gone": record.client_gone, "outcome": record.final_outcome, "bytes_out": record.bytes_out,
        "input_tokens": units.input_tokens, "output_tokens": units.output_tokens, "documents": units.documents,
        "images": units.images, "characters": units.characters, "audio_seconds": units.audio_seconds,
    }


class UsageLedger:
    """The buffer and its writer. `add()` on the event loop; `run()` as a task; `close()` at shutdown."""

    def __init__(self, store: UsageStore, interval: float = 2.0, max_buffered: int = 100_000,
                 retention_days: float = 90.0, on_drop: Callable[[], None] | None = None) -> None:
        self._store = store
        self.interval = interval
        self.max_buffered = max_buffered
        self.retention = timedelta(days=retention_days)
        self._on_drop = on_drop
        self._buffer: list[UsageRecord] = []
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
        self._buffer.append(record)

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
            batch, self._buffer = self._buffer, []
            if not batch:
                return
            retry, self._retry = self._retry, False
            try:
                self.written += await asyncio.to_thread(self._write, batch, retry)
            except Exception:
                log.exception("writing %d usage records failed; retrying at the next flush", len(batch))
                self._retry = True  # it may have been committed all the same: the next write checks
                room = max(0, self.max_buffered - len(self._buffer))
                self._buffer[:0] = batch[:room]
                self.dropped += len(batch) - min(room, len(batch))

    def _write(self, batch: list[UsageRecord], retry: bool) -> int:
        return self._store.write([row_of(record) for record in batch], retry=retry)

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
