"""`QuotaCounter`: admission and settlement of limited keys' requests, counted in the store.

The counter lives in the store because that is what every `--workers` process and every gateway on one
PostgreSQL already share, and because it is exact there: an admission reads the key's standing and records
the request in one transaction, and the admissions of one key run one at a time (SQLite: `BEGIN
IMMEDIATE` holds the database's write lock; PostgreSQL: the key's row is locked `FOR UPDATE`). No count is
kept in a process, so none drifts, and a restarted gateway finds every limit as it was. The transactions
run on the driver's connections (`quota.transactions`): two round trips to PostgreSQL per admission, one
per settlement.

Requests and tokens per minute are a sliding window counted per second: a request counts in the second it
was admitted, for the 60 s that follow (so it frees between 59 and 60 s later), and its tokens are the
reservation until it is settled to the real count. An admission reads at most 60 rows per scope, however
busy the key. Budgets are one row per key and scope with what the current period has spent. A concurrency
slot is a row with a lease, renewed while its request runs (`renew`), so a gateway that dies frees its slots.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from modelport.quota.periods import WINDOW_SECONDS, period_end, period_start
from modelport.quota.sql import Statements
from modelport.quota.state import Refused, Standing, Ticket
from modelport.quota.transactions import Batch, Row, Transactions
from modelport.records import ApiKey, Limits

LEASE_SECONDS = 30.0  # a concurrency slot outlives a gateway that died by at most this long
CONCURRENCY_RETRY = 1.0  # seconds: a slot frees when some running request ends, which no one can know
WINDOW = int(WINDOW_SECONDS)


def scopes(key: ApiKey, deployment: str) -> list[tuple[str, Limits]]:
    """The limits that apply to a request of `key` to `deployment` ('' for none): the key's own, then the
    deployment's through it."""
    found = [] if key.limits.overall.is_empty else [("", key.limits.overall)]
    scoped = key.limits.for_deployment(deployment) if deployment else None
    if scoped is not None and not scoped.is_empty:
        found.append((deployment, scoped))
    return found


def _windowed(limits: Limits) -> bool:
    return limits.rpm is not None or limits.tpm is not None


class QuotaCounter:
    """Admits and settles requests of keys with limits. Blocking: call it from a thread. Give it an engine of
    its own (`quota.engine.counter_engine`) unless every commit should wait for the disk."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time,
                 lease_seconds: float = LEASE_SECONDS) -> None:
        self._engine = engine
        self._clock = clock
        self.lease_seconds = lease_seconds
        self._sql = Statements(engine.dialect.name)
        # SQLite: one connection, so this process's threads queue in Python rather than spin in SQLite's busy
        # handler (other processes still wait there). PostgreSQL locks per key.
        self._transactions = Transactions(engine)
        self.postgres = self._transactions.postgres
        self._prefix = os.urandom(10).hex()  # slot ids: 80 random bits per process, then a counter
        self._ids = itertools.count()
        self._pruned: dict[str, int] = {}  # key id -> the second its old counts and slots were last deleted

    def admit(self, key: ApiKey, deployment: str, tokens: int) -> Ticket | None:
        """Admit a request reserving `tokens`, or raise `Refused`. None when no limit applies."""
        applying = scopes(key, deployment)
        if not applying:
            return None
        held = any(limits.concurrency is not None for _, limits in applying)
        with self._transactions.write() as batch:
            tx = _Tx(batch, self._sql, key.id, self._clock())
            tx.begin(held, self._pruned)
            standings: list[Standing] = []
            for scope, limits in applying:
                standing = tx.measure(scope, limits)
                tx.decide(standing, tokens, tuple(standings))
                standings.append(_with_request(standing, tokens, tx.second))
            slot = f"{self._prefix}{next(self._ids):012x}"
            if held:
                tx.run(self._sql.take_slot, id=slot, scope=deployment, until=tx.now + self.lease_seconds)
            windows = tuple(tx.count(scope, tokens) for scope, limits in applying if _windowed(limits))
            budgets = tuple(tx.charge(scope, limits, tokens) for scope, limits in applying if limits.budget)
        return Ticket(slot, key.id, deployment, tokens, tx.now, windows, budgets, tuple(standings), held)

    def settle(self, ticket: Ticket, tokens: int | None) -> None:
        """The request is over: it used `tokens` (None: unknown, so the reservation stands); its slot frees.
        Nothing to write (no slot, nothing to correct) costs nothing."""
        delta = 0 if tokens is None else tokens - ticket.reserved
        if not ticket.held and not (delta and (ticket.windows or ticket.budgets)):
            return
        sql = self._sql
        with self._transactions.write() as batch:
            if ticket.held:
                batch.run(sql.free_slot, {"id": ticket.id})
            for scope, second in ticket.windows if delta else ():
                batch.run(sql.correct_window, {"delta": delta, "key": ticket.key_id, "scope": scope, "second": second})
            for scope, start in ticket.budgets if delta else ():
                batch.run(sql.correct_budget, {"delta": delta, "key": ticket.key_id, "scope": scope, "start": start})

    def renew(self, slot_ids: Iterable[str]) -> None:
        """Extend the leases of the concurrency slots of requests still running."""
        until = self._clock() + self.lease_seconds
        rows = [{"until": until, "id": slot_id} for slot_id in slot_ids]
        for start in range(0, len(rows), 500):
            with self._transactions.write() as batch:
                for row in rows[start:start + 500]:
                    batch.run(self._sql.renew, row)

    def close(self) -> None:
        """Close the counter's connections."""
        self._transactions.close()

    def standings(self, key: ApiKey) -> list[Standing]:
        """Where each of the key's limits stands now (for `keys show` and `GET /api/keys/ID`)."""
        applying = [] if key.limits.overall.is_empty else [("", key.limits.overall)]
        applying += [(name, limits) for name, limits in key.limits.deployments if not limits.is_empty]
        with self._transactions.write() as batch:  # reads only: nothing to commit
            tx = _Tx(batch, self._sql, key.id, self._clock())
            return [tx.measure(scope, limits) for scope, limits in applying]


class _Tx:
    """One admission's transaction: its cursor, the key, the time, and the statements it runs."""

    def __init__(self, batch: Batch, sql: Statements, key_id: str, now: float) -> None:
        self.batch = batch
        self.sql = sql
        self.key_id = key_id
        self.now = now
        self.second = math.floor(now)
        self.old = self.second - WINDOW  # counts of this second and before have left the window

    def run(self, statement: str, **params: Any) -> None:
        self.batch.run(statement, {"key": self.key_id, **params})

    def rows(self, statement: str, **params: Any) -> list[Row]:
        return self.batch.rows(statement, {"key": self.key_id, **params})

    def begin(self, held: bool, pruned: dict[str, int]) -> None:
        """Take the key's lock; once a second, forget its counts that left the window and its lapsed slots
        (rows that `measure` passes over anyway: only their space is at stake)."""
        sql = self.sql
        if sql.postgres:  # SQLite: BEGIN IMMEDIATE already holds the database's write lock
            self.run(sql.lock)
        if pruned.get(self.key_id) != self.second:
            if len(pruned) > 100_000:
                pruned.clear()
            pruned[self.key_id] = self.second
            self.run(sql.prune_windows, old=self.old)
            if held:
                self.run(sql.prune_slots, now=self.now)

    def measure(self, scope: str, limits: Limits) -> Standing:
        """A scope's standing now, before any new request."""
        requests, tokens, oldest, running, used, start = self.rows(self.sql.measure, scope=scope, old=self.old,
                                                                   now=self.now)[0]
        standing = Standing(scope, limits, in_flight=int(running))
        if _windowed(limits):
            free_at = None if oldest is None else float(oldest + WINDOW)
            standing = replace(standing, requests=int(requests), tokens=int(tokens), requests_free_at=free_at,
                               tokens_free_at=free_at if tokens else None)
        if limits.budget is not None:
            current = period_start(self.now, limits.budget.period)
            spent = int(used) if used is not None and start == current else 0
            standing = replace(standing, budget_used=spent,
                               budget_renews_at=period_end(current, limits.budget.period))
        return standing

    def decide(self, standing: Standing, tokens: int, before: tuple[Standing, ...]) -> None:
        """Raise `Refused` when a request reserving `tokens` does not fit `standing`."""
        limits, what = standing.limits, _what(standing.deployment)
        standings = (*before, standing)
        if limits.tpm is not None and tokens > limits.tpm:
            raise Refused("too_large", f"This request reserves {tokens} tokens (its prompt and max_tokens), more "
                          f"than the {limits.tpm} tokens per minute {what} allows.", None, standings)
        if limits.rpm is not None and standing.requests >= limits.rpm:
            wait = self.wait(standing.deployment, 1, standing.requests + 1 - limits.rpm)
            raise Refused("requests", f"Rate limit reached: {limits.rpm} requests per minute {what}. Try again "
                          f"in {wait:.0f} s.", wait, standings)
        if limits.tpm is not None and standing.tokens + tokens > limits.tpm:
            wait = self.wait(standing.deployment, 2, standing.tokens + tokens - limits.tpm)
            raise Refused("tokens", f"Rate limit reached: {limits.tpm} tokens per minute {what}, {standing.tokens} "
                          f"in use and this request reserves {tokens}. Try again in {wait:.0f} s.", wait, standings)
        if limits.concurrency is not None and standing.in_flight >= limits.concurrency:
            raise Refused("concurrency", f"Concurrency limit reached: {limits.concurrency} requests at once {what}.",
                          CONCURRENCY_RETRY, standings)
        if limits.budget is not None:
            _decide_budget(standing, tokens, self.now, standings)

    def wait(self, scope: str, column: int, excess: int) -> float:
        """Seconds until the oldest seconds of the window holding at least `excess` of `column` (1: requests,
        2: tokens) have left it."""
        freed = 0
        for row in self.rows(self.sql.window_rows, scope=scope, old=self.old):
            freed += int(row[column])
            if freed >= excess:
                return max(0.0, float(row[0]) + WINDOW - self.now)
        return WINDOW_SECONDS

    def count(self, scope: str, tokens: int) -> tuple[str, int]:
        """Add the request to its scope's count of this second."""
        self.run(self.sql.count, scope=scope, second=self.second, tokens=tokens)
        return scope, self.second

    def charge(self, scope: str, limits: Limits, tokens: int) -> tuple[str, float]:
        """Add `tokens` to the scope's budget in the current period (starting the period anew when it turned)."""
        assert limits.budget is not None
        start = period_start(self.now, limits.budget.period)
        self.run(self.sql.charge, scope=scope, start=start, tokens=tokens)
        return scope, start


def _decide_budget(standing: Standing, tokens: int, now: float, standings: tuple[Standing, ...]) -> None:
    budget = standing.limits.budget
    assert budget is not None
    what = _what(standing.deployment)
    if budget.expires_at is not None and now >= budget.expires_at.timestamp():
        raise Refused("budget", f"The token budget {what} expired at {budget.expires_at.isoformat()}.", None,
                      standings)
    if standing.budget_used + tokens <= budget.tokens:
        return
    renews = standing.budget_renews_at
    when = ("it does not renew" if renews is None
            else f"it renews at {datetime.fromtimestamp(renews, UTC).isoformat()}")
    raise Refused("budget", f"The {budget.period.value} token budget {what} is exhausted: {standing.budget_used} "
                  f"of {budget.tokens} tokens used and this request reserves {tokens}; {when}.",
                  None if renews is None else renews - now, standings, renews)


def _with_request(standing: Standing, tokens: int, second: int) -> Standing:
    """`standing` once the request reserving `tokens`, admitted in `second`, is counted."""
    free_at = standing.requests_free_at or float(second + WINDOW)
    return replace(standing, requests=standing.requests + 1, tokens=standing.tokens + tokens,
                   requests_free_at=free_at, tokens_free_at=standing.tokens_free_at or (free_at if tokens else None),
                   in_flight=standing.in_flight + 1, budget_used=standing.budget_used + tokens)


def _what(deployment: str) -> str:
    return f"for `{deployment}` with this key" if deployment else "for this key"
