"""What the counter answers: a scope's standing after an admission, an admitted request's ticket, and a
refusal saying what ran out and for how long."""

from __future__ import annotations

from dataclasses import dataclass

from modelport.records import Limits


@dataclass(frozen=True)
class Standing:
    """One scope of a key (the key as a whole, or one deployment through it) as an admission left it."""

    deployment: str  # '' for the key as a whole
    limits: Limits
    requests: int = 0  # admitted in the last minute, this one included
    tokens: int = 0  # reserved or used in the last minute, this one included
    requests_free_at: float | None = None  # when the oldest of those requests leaves the window
    tokens_free_at: float | None = None  # when the oldest request holding tokens leaves it
    in_flight: int = 0  # requests running, this one included
    budget_used: int = 0  # of the budget in its current period, this one's reservation included
    budget_renews_at: float | None = None


@dataclass(frozen=True)
class Ticket:
    """An admitted request: what it reserved, to be settled once it ends."""

    id: str
    key_id: str
    deployment: str
    reserved: int
    admitted_at: float
    windows: tuple[tuple[str, int], ...]  # (scope, second) of each window count it was added to
    budgets: tuple[tuple[str, float], ...]  # (scope, period start) of each budget charged
    standings: tuple[Standing, ...]
    held: bool  # it holds a concurrency slot (`id` names it: a lease to renew while it runs)


class Refused(Exception):
    """A request the limits refuse. `reason`: requests, tokens, concurrency, budget or too_large;
    `retry_after`: seconds until it would be admitted, None when waiting will not help."""

    def __init__(self, reason: str, message: str, retry_after: float | None, standings: tuple[Standing, ...],
                 renews_at: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after = retry_after
        self.standings = standings
        self.renews_at = renews_at
