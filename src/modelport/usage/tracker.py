"""`UsageTracker`: what the dispatcher calls around each request, and what it hands each finished record to
(the ledger, the metrics, the access log)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterable
from contextvars import Token
from typing import TYPE_CHECKING

from modelport.usage.access_log import AccessLog
from modelport.usage.ledger import UsageLedger
from modelport.usage.metrics import Metrics, shared_metrics_dir
from modelport.usage.record import CURRENT, UsageRecord
from modelport.usage.tracing import Tracing, build_tracing

if TYPE_CHECKING:
    from modelport.config import Settings
    from modelport.routing.router import Router
    from modelport.store import Store

log = logging.getLogger(__name__)
UNRECORDED = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapes: no record, no log line


class UsageTracker:
    """Begins a record per request (`begin`), ends it (`finish`); keeps the outstanding-requests gauge."""

    def __init__(self, ledger: UsageLedger, metrics: Metrics, access_log: AccessLog | None,
                 tracing: Tracing | None = None) -> None:
        self.ledger = ledger
        self.metrics = metrics
        self.access_log = access_log
        self.tracing = tracing  # a span per request (usage.tracing), when the OTEL_* variables ask for it
        ledger.listeners.append(metrics.observe_all)
        if access_log is not None:
            ledger.listeners.append(access_log.write_all)

    def begin(self, method: str, endpoint: str, headers: Iterable[tuple[bytes, bytes]] = ()
              ) -> tuple[UsageRecord, Token[UsageRecord | None]] | None:
        """A record for a request to `endpoint` (a route-table label, never the client's raw path), made the
        current one for the exchanges of this task; None for probes and scrapes. `headers` (the client's)
        are read only for their trace context, when traces are on."""
        if endpoint in UNRECORDED:
            return None
        record = UsageRecord(endpoint, method)
        if self.tracing is not None:
            record.trace = self.tracing.start(record, headers)
        return record, CURRENT.set(record)

    def finish(self, record: UsageRecord, token: Token[UsageRecord | None]) -> None:
        """The request is over: queue its record for the ledger, whose turn-end `settle()` hands it to the
        metrics and the access log too. Never raises."""
        record.ended = time.perf_counter()
        CURRENT.reset(token)
        if record.trace is not None:
            record.trace.end(record)
        self.ledger.add(record)

    async def close(self, ledger_task: asyncio.Task[None] | None) -> None:
        """At shutdown, after the drain: write what the ledger holds, and export the spans left."""
        await self.ledger.close(ledger_task)
        if self.tracing is not None:
            await asyncio.to_thread(self.tracing.close)

    async def follow_outstanding(self, router: Router, interval: float = 1.0) -> None:
        """Keep `modelport_instance_outstanding_requests` current for this process's instances and, with
        `--workers`, share this process's numbers every `interval` (and once more when cancelled, at exit)."""
        aggregate = self.metrics.aggregate
        try:
            while True:
                counts = [(route.name, f"{instance.id[0]}/{instance.id[1]}", instance.outstanding)
                          for name, route in router.routes.items() if name == route.name
                          for instance in route.instances]
                self.metrics.set_outstanding(counts)
                if aggregate.shared_dir is not None:
                    await asyncio.to_thread(aggregate.dump)
                await asyncio.sleep(interval)
        finally:
            aggregate.dump()


def build_tracker(settings: Settings, store: Store) -> UsageTracker:
    """The tracker `settings` ask for, on `store`."""
    metrics = Metrics(lambda: [(i.deployment, str(i.state.value)) for i in store.list_instances()],
                      shared_metrics_dir())
    ledger = UsageLedger(store.usage, settings.usage_flush_seconds, settings.usage_buffer_records,
                         settings.usage_retention_days, on_drop=lambda: metrics.dropped.inc(()))
    access_log = None if settings.access_log == "off" else AccessLog(settings.access_log)
    return UsageTracker(ledger, metrics, access_log, build_tracing(os.environ))
