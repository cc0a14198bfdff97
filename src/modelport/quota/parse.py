"""Limits as people write them: `--rpm 60`, `--budget-tokens 1000000/month`, `--limit qwen3=rpm:10,tpm:5k`.

Counts take an optional `k`, `m` or `g` suffix (thousands, millions, billions); `none` clears a limit."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from modelport.errors import BadRequest
from modelport.records import Budget, BudgetPeriod, KeyLimits, Limits

MAX_COUNT = 10**15
_COUNT = re.compile(r"^\s*(\d{1,16})\s*([kmg]?)\s*$", re.IGNORECASE)
_SUFFIX = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}
_FIELDS = ("rpm", "tpm", "concurrency", "budget")
CLEAR = "none"


def parse_count(text: str, param: str) -> int:
    """A positive count such as `60`, `100k`, `2M`; 400 otherwise."""
    match = _COUNT.match(text)
    value = int(match.group(1)) * _SUFFIX[match.group(2).lower()] if match else 0
    if not 0 < value <= MAX_COUNT:
        raise BadRequest(f"`{text}` is not a count above 0 (like 60, 100k, 2M).", param=param)
    return value


def parse_budget(text: str, expires_at: datetime | None = None) -> Budget:
    """`1000000/month`, `50k/day`, `2M/total` (the period defaults to month)."""
    amount, _, period = text.partition("/")
    try:
        renews = BudgetPeriod(period.strip().lower() or "month")
    except ValueError:
        raise BadRequest(f"Unknown budget period `{period}`: use day, month or total.", param="budget") from None
    return Budget(parse_count(amount, "budget"), renews, expires_at)


@dataclass(frozen=True)
class LimitChanges:
    """What `keys create/update` was told: for each field, a new text value, `none` to clear, or None to
    leave it as it is."""

    rpm: str | None = None
    tpm: str | None = None
    concurrency: str | None = None
    budget: str | None = None
    budget_expires_at: datetime | None = None
    deployments: tuple[str, ...] = ()  # `NAME=rpm:10,tpm:5k,concurrency:2,budget:50k/day` or `NAME=none`


def apply_changes(current: KeyLimits, changes: LimitChanges) -> KeyLimits:
    """`current` with `changes` made."""
    overall = _changed(current.overall, changes.rpm, changes.tpm, changes.concurrency, changes.budget,
                       changes.budget_expires_at)
    scoped = dict(current.deployments)
    for text in changes.deployments:
        name, limits = parse_scoped(text)
        if limits is None:
            scoped.pop(name, None)
        else:
            scoped[name] = limits
    return KeyLimits(overall, tuple(sorted((n, lim) for n, lim in scoped.items() if not lim.is_empty)))


def parse_scoped(text: str) -> tuple[str, Limits | None]:
    """`NAME=rpm:10,tpm:5k,concurrency:2,budget:50k/day` → (NAME, its limits); `NAME=none` → (NAME, None)."""
    name, equals, spec = text.partition("=")
    if not equals or not name.strip():
        raise BadRequest(f"`{text}`: write DEPLOYMENT=rpm:N,tpm:N,concurrency:N,budget:N/PERIOD.", param="limit")
    if spec.strip().lower() == CLEAR:
        return name.strip(), None
    values: dict[str, str] = {}
    for part in spec.split(","):
        field, colon, value = part.partition(":")
        if not colon or field.strip().lower() not in _FIELDS:
            raise BadRequest(f"`{part}` in `{text}`: use rpm:N, tpm:N, concurrency:N or budget:N/PERIOD.",
                             param="limit")
        values[field.strip().lower()] = value.strip()
    limits = _changed(Limits(), values.get("rpm"), values.get("tpm"), values.get("concurrency"),
                      values.get("budget"), None)
    return name.strip(), limits


def _changed(limits: Limits, rpm: str | None, tpm: str | None, concurrency: str | None, budget: str | None,
             budget_expires_at: datetime | None) -> Limits:
    counts = {name: _count_or_clear(text, getattr(limits, name), name)
              for name, text in (("rpm", rpm), ("tpm", tpm), ("concurrency", concurrency))}
    new_budget = limits.budget
    if budget is not None:
        new_budget = None if budget.strip().lower() == CLEAR else parse_budget(budget, budget_expires_at)
    elif budget_expires_at is not None and new_budget is not None:
        new_budget = replace(new_budget, expires_at=budget_expires_at)
    return Limits(counts["rpm"], counts["tpm"], counts["concurrency"], new_budget)


def _count_or_clear(text: str | None, current: int | None, param: str) -> int | None:
    if text is None:
        return current
    return None if text.strip().lower() == CLEAR else parse_count(text, param)
