"""`QuotaCounter`: admission and settlement of limited keys' requests, counted in the store.

The counter lives in the store because that is what every `--workers` process and every gateway on one
PostgreSQL already share, and because it is exact there: an admission reads the key's standing and records
the request in one transaction, and the admissions of one key run one at a time (SQLite: `BEGIN
IMMEDIATE` holds the database's write lock; PostgreSQL: the key's row is locked `FOR UPDATE`). No count is
kept in a process, so none drifts, and a restarted gateway finds every limit as it was.

Requests and tokens per minute are a sliding window: each admitted request is a row with its time and its
tokens (reserved at admission, the real count once settled), and a request counts for 60 s after it was
admitted. Budgets are one row per key and scope with what the current period has spent. A concurrency slot
is a lease on the request's row, renewed while it runs (`renew`), so a gateway that dies frees its slots.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from modelport.quota.periods import WINDOW_SECONDS, period_end, period_start
from modelport.quota.state import Refused, Standing, Ticket
from modelport.records import ApiKey, Limits
from modelport.store import keys
from modelport.store.database import read_transaction, write_transaction
from modelport.store.schema import quota_budgets, quota_requests

LEASE_SECONDS = 30.0  # a concurrency slot outlives a gateway that died by at most this long
CONCURRENCY_RETRY = 1.0  # seconds: a slot frees when some running request ends, which no one can know
_requests = quota_requests.c
_budgets = quota_budgets.c


def scopes(key: ApiKey, deployment: str) -> list[tuple[str, Limits]]:
    """The limits that apply to a request of `key` to `deployment` ('' for none): the key's own, then the
    deployment's through it."""
    found = [] if key.limits.overall.is_empty else [("", key.limits.overall)]
    scoped = key.limits.for_deployment(deployment) if deployment else None
    if scoped is not None and not scoped.is_empty:
        found.append((deployment, scoped))
    return found


class QuotaCounter:
    """Admits and settles requests of keys with limits. Blocking: call it from a thread."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time,
                 lease_seconds: float = LEASE_SECONDS) -> None:
        self._engine = engine
        self._clock = clock
        self.lease_seconds = lease_seconds
        self._prefix = os.urandom(10).hex()  # ids: 80 random bits per process, then a counter
        self._ids = itertools.count()

    def admit(self, key: ApiKey, deployment: str, tokens: int) -> Ticket | None:
        """Admit a request reserving `tokens`, or raise `Refused`. None when no limit applies."""
        applying = scopes(key, deployment)
        if not applying:
            return None
        held = any(limits.concurrency is not None for _, limits in applying)
        with write_transaction(self._engine) as connection:
            keys.lock(connection, key.id)
            now = self._clock()
            _prune(connection, key.id, now)
            standings: list[Standing] = []
            for scope, limits in applying:
                standing = _measure(connection, key.id, scope, limits, now)
                _decide(connection, key.id, standing, tokens, now, tuple(standings))
                standings.append(_with_request(standing, tokens, now))
            ticket_id = f"{self._prefix}{next(self._ids):012x}"
            connection.execute(quota_requests.insert().values(
                id=ticket_id, key_id=key.id, deployment=deployment, admitted_at=now, tokens=tokens,
                held_until=now + self.lease_seconds if held else None))
            budgets = tuple(_charge(connection, key.id, scope, limits, tokens, now) for scope, limits in applying
                            if limits.budget is not None)
        return Ticket(ticket_id, key.id, deployment, tokens, now, budgets, tuple(standings), held)

    def settle(self, ticket: Ticket, tokens: int | None) -> None:
        """The request is over: it used `tokens` (None: unknown, so the reservation stands); its slot frees."""
        used = ticket.reserved if tokens is None else tokens
        with write_transaction(self._engine) as connection:
            connection.execute(quota_requests.update().where(_requests.id == ticket.id)
                               .values(tokens=used, held_until=None))
            delta = used - ticket.reserved
            for scope, start in ticket.budgets if delta else ():
                connection.execute(quota_budgets.update()
                                   .where(_budgets.key_id == ticket.key_id, _budgets.scope == scope,
                                          _budgets.period_start == start)
                                   .values(used=_budgets.used + delta))

    def renew(self, ticket_ids: Iterable[str]) -> None:
        """Extend the leases of the concurrency slots of requests still running."""
        ids = list(ticket_ids)
        until = self._clock() + self.lease_seconds
        for start in range(0, len(ids), 500):
            with write_transaction(self._engine) as connection:
                connection.execute(quota_requests.update().where(_requests.id.in_(ids[start:start + 500]))
                                   .values(held_until=until))

    def standings(self, key: ApiKey) -> list[Standing]:
        """Where each of the key's limits stands now (for `keys show` and `GET /api/keys/ID`)."""
        applying = [] if key.limits.overall.is_empty else [("", key.limits.overall)]
        applying += [(name, limits) for name, limits in key.limits.deployments if not limits.is_empty]
        now = self._clock()
        with read_transaction(self._engine) as connection:
            return [_measure(connection, key.id, scope, limits, now) for scope, limits in applying]


def _scoped(key_id: str, deployment: str) -> list[Any]:
    where = [_requests.key_id == key_id]
    return [*where, _requests.deployment == deployment] if deployment else where


def _prune(connection: Connection, key_id: str, now: float) -> None:
    """Forget the key's requests that left the window and hold no slot."""
    connection.execute(quota_requests.delete().where(
        _requests.key_id == key_id, _requests.admitted_at <= now - WINDOW_SECONDS,
        sa.or_(_requests.held_until.is_(None), _requests.held_until < now)))


def _measure(connection: Connection, key_id: str, scope: str, limits: Limits, now: float) -> Standing:
    """A scope's standing at `now`, before any new request."""
    standing = Standing(scope, limits)
    where = _scoped(key_id, scope)
    if limits.rpm is not None or limits.tpm is not None:
        count, tokens, oldest = connection.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(_requests.tokens), 0),
                      sa.func.min(_requests.admitted_at))
            .where(*where, _requests.admitted_at > now - WINDOW_SECONDS)).one()
        free_at = None if oldest is None else oldest + WINDOW_SECONDS
        standing = replace(standing, requests=int(count), tokens=int(tokens), requests_free_at=free_at,
                           tokens_free_at=free_at if tokens else None)
    if limits.concurrency is not None:
        running = connection.execute(sa.select(sa.func.count()).where(*where, _requests.held_until > now)).scalar()
        standing = replace(standing, in_flight=int(running or 0))
    if limits.budget is not None:
        start = period_start(now, limits.budget.period)
        row = connection.execute(sa.select(_budgets.used, _budgets.period_start)
                                 .where(_budgets.key_id == key_id, _budgets.scope == scope)).first()
        spent = int(row.used) if row is not None and row.period_start == start else 0
        standing = replace(standing, budget_used=spent, budget_renews_at=period_end(start, limits.budget.period))
    return standing


def _decide(connection: Connection, key_id: str, standing: Standing, tokens: int, now: float,
            before: tuple[Standing, ...]) -> None:
    """Raise `Refused` when a request reserving `tokens` does not fit `standing`."""
    limits, what = standing.limits, _what(standing.deployment)
    standings = (*before, standing)
    where = _scoped(key_id, standing.deployment)
    if limits.tpm is not None and tokens > limits.tpm:
        raise Refused("too_large", f"This request reserves {tokens} tokens (its prompt and max_tokens), more "
                      f"than the {limits.tpm} tokens per minute {what} allows.", None, standings)
    if limits.rpm is not None and standing.requests >= limits.rpm:
        leaving = connection.execute(sa.select(_requests.admitted_at).where(
            *where, _requests.admitted_at > now - WINDOW_SECONDS).order_by(_requests.admitted_at)
            .offset(standing.requests - limits.rpm).limit(1)).scalar()
        wait = (leaving or now) + WINDOW_SECONDS - now
        raise Refused("requests", f"Rate limit reached: {limits.rpm} requests per minute {what}. Try again "
                      f"in {wait:.1f} s.", wait, standings)
    if limits.tpm is not None and standing.tokens + tokens > limits.tpm:
        wait = _tokens_wait(connection, where, standing.tokens + tokens - limits.tpm, now)
        raise Refused("tokens", f"Rate limit reached: {limits.tpm} tokens per minute {what}, {standing.tokens} "
                      f"in use and this request reserves {tokens}. Try again in {wait:.1f} s.", wait, standings)
    if limits.concurrency is not None and standing.in_flight >= limits.concurrency:
        raise Refused("concurrency", f"Concurrency limit reached: {limits.concurrency} requests at once {what}.",
                      CONCURRENCY_RETRY, standings)
    if limits.budget is not None:
        _decide_budget(standing, tokens, now, standings)


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


def _tokens_wait(connection: Connection, where: list[Any], excess: int, now: float) -> float:
    """Seconds until requests holding at least `excess` tokens have left the window."""
    freed = 0
    rows = connection.execute(sa.select(_requests.admitted_at, _requests.tokens)
                              .where(*where, _requests.admitted_at > now - WINDOW_SECONDS)
                              .order_by(_requests.admitted_at))
    for admitted_at, tokens in rows:
        freed += int(tokens)
        if freed >= excess:
            return float(admitted_at) + WINDOW_SECONDS - now
    return WINDOW_SECONDS


def _with_request(standing: Standing, tokens: int, now: float) -> Standing:
    """`standing` once the request reserving `tokens` is admitted."""
    free_at = standing.requests_free_at or now + WINDOW_SECONDS
    return replace(standing, requests=standing.requests + 1, tokens=standing.tokens + tokens,
                   requests_free_at=free_at, tokens_free_at=standing.tokens_free_at or (free_at if tokens else None),
                   in_flight=standing.in_flight + 1, budget_used=standing.budget_used + tokens)


def _charge(connection: Connection, key_id: str, scope: str, limits: Limits, tokens: int,
            now: float) -> tuple[str, float]:
    """Add `tokens` to the scope's budget in the current period (starting the period anew when it turned)."""
    assert limits.budget is not None
    start = period_start(now, limits.budget.period)
    where = (_budgets.key_id == key_id, _budgets.scope == scope)
    row = connection.execute(sa.select(_budgets.period_start).where(*where)).first()
    if row is None:
        connection.execute(quota_budgets.insert().values(key_id=key_id, scope=scope, period_start=start, used=tokens))
    elif row.period_start == start:
        connection.execute(quota_budgets.update().where(*where).values(used=_budgets.used + tokens))
    else:
        connection.execute(quota_budgets.update().where(*where).values(period_start=start, used=tokens))
    return scope, start


def _what(deployment: str) -> str:
    return f"for `{deployment}` with this key" if deployment else "for this key"
