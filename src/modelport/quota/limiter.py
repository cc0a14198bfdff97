"""`Limiter`: the gateway's asynchronous face of the counter. It runs admissions and settlements in
threads and renews the leases of the concurrency slots its requests hold."""

from __future__ import annotations

import asyncio
import logging

from modelport.quota.counter import QuotaCounter
from modelport.quota.state import Ticket
from modelport.records import ApiKey

log = logging.getLogger(__name__)


class Limiter:
    """Admits and settles the requests of keys with limits, for one gateway process."""

    def __init__(self, counter: QuotaCounter) -> None:
        self.counter = counter
        self._held: dict[str, Ticket] = {}  # admitted requests holding a concurrency slot, by ticket id

    async def admit(self, key: ApiKey, deployment: str, tokens: int) -> Ticket | None:
        """A ticket for the request, or `quota.state.Refused`; None when no limit applies."""
        ticket = await asyncio.to_thread(self.counter.admit, key, deployment, tokens)
        if ticket is not None and ticket.held:
            self._held[ticket.id] = ticket
        return ticket

    async def settle(self, ticket: Ticket, tokens: int | None) -> None:
        """The request ended having used `tokens` (None: unknown). Never raises: a failure is logged and
        the slot's lease lapses on its own."""
        self._held.pop(ticket.id, None)
        try:
            await asyncio.to_thread(self.counter.settle, ticket, tokens)
        except Exception:
            log.exception("settling a limited request failed; its concurrency slot frees when its lease ends")

    def close(self) -> None:
        """Close the counter's connections (the gateway is stopping)."""
        self.counter.close()

    async def follow_leases(self) -> None:
        """Renew this process's slots every third of a lease, for as long as the gateway runs."""
        while True:
            await asyncio.sleep(self.counter.lease_seconds / 3)
            if self._held:
                try:
                    await asyncio.to_thread(self.counter.renew, list(self._held))
                except Exception:
                    log.exception("renewing the leases of concurrency slots failed")
