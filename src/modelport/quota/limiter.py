"""`Limiter`: the gateway's asynchronous face of the counter. It runs admissions and settlements in
threads and renews the leases of the concurrency slots its requests hold."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

import sqlalchemy as sa

from modelport.quota.counter import QuotaCounter
from modelport.quota.state import Ticket
from modelport.records import ApiKey, KeyLimits, KeyScope

log = logging.getLogger(__name__)
BUSY_RETRIES = 3  # admissions that found SQLite locked for its whole busy timeout, tried again
T = TypeVar("T")


class Limiter:
    """Admits and settles the requests of keys with limits, for one gateway process. Keys without limits of
    their own get the defaults, read from the store every `defaults_seconds`."""

    def __init__(self, counter: QuotaCounter, read_defaults: Callable[[], KeyLimits],
                 defaults_seconds: float = 1.0) -> None:
        self.counter = counter
        self.defaults = KeyLimits()
        self._read_defaults = read_defaults
        self._defaults_seconds = defaults_seconds
        self._held: dict[str, Ticket] = {}  # admitted requests holding a concurrency slot, by ticket id
        # SQLite runs one transaction at a time in a process: one thread of its own runs them all, rather than
        # every executor thread waking in turn on the counter's lock (CPU spent on handing the GIL around).
        # PostgreSQL's transactions of different keys run side by side, on the default executor.
        self._thread = None if counter.postgres else ThreadPoolExecutor(1, thread_name_prefix="quota")

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        if self._thread is None:
            return await asyncio.to_thread(function, *args)
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)

    def limited(self, key: ApiKey) -> ApiKey | None:
        """`key` with the limits that apply to it (its own, else the defaults), or None when none do. The
        defaults are for the team's keys: an admin key is limited only by limits of its own, so that setting
        them never locks the operator out of the models."""
        if not key.limits.is_empty:
            return key
        return replace(key, limits=self.defaults) if self.applies_defaults(key) else None

    def applies_defaults(self, key: ApiKey) -> bool:
        """Whether `key`, having no limits of its own, gets the defaults."""
        return key.scope is KeyScope.INFERENCE and not self.defaults.is_empty

    async def refresh_defaults(self) -> None:
        """Read the defaults from the store now."""
        self.defaults = await asyncio.to_thread(self._read_defaults)

    async def follow_defaults(self) -> None:
        """Keep the defaults current (changes made through any gateway or the CLI apply within a second)."""
        while True:
            await asyncio.sleep(self._defaults_seconds)
            try:
                await self.refresh_defaults()
            except Exception:
                log.exception("reading the default limits failed; the last ones read still apply")

    async def admit(self, key: ApiKey, deployment: str, tokens: int) -> Ticket | None:
        """A ticket for the request, or `quota.state.Refused`; None when no limit applies."""
        for attempt in range(BUSY_RETRIES):
            try:
                ticket = await self._call(self.counter.admit, key, deployment, tokens)
                break
            except (sqlite3.OperationalError, sa.exc.OperationalError) as exc:  # SQLite busy past its timeout
                if "locked" not in str(exc) or attempt == BUSY_RETRIES - 1:
                    raise
        if ticket is not None and ticket.held:
            self._held[ticket.id] = ticket
        return ticket

    async def settle(self, ticket: Ticket, tokens: int | None) -> None:
        """The request ended having used `tokens` (None: unknown). Never raises: a failure is logged and
        the slot's lease lapses on its own."""
        self._held.pop(ticket.id, None)
        try:
            await self._call(self.counter.settle, ticket, tokens)
        except Exception:
            log.exception("settling a limited request failed; its concurrency slot frees when its lease ends")

    def close(self) -> None:
        """Close the counter's connections (the gateway is stopping)."""
        if self._thread is not None:
            self._thread.shutdown()
        self.counter.close()

    async def follow_leases(self) -> None:
        """Renew this process's slots every third of a lease, for as long as the gateway runs."""
        while True:
            await asyncio.sleep(self.counter.lease_seconds / 3)
            if self._held:
                try:
                    await self._call(self.counter.renew, list(self._held))
                except Exception:
                    log.exception("renewing the leases of concurrency slots failed")
