"""Budget periods and the sliding window, as pure functions of unix times (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

from modelport.records import BudgetPeriod

WINDOW_SECONDS = 60.0  # requests and tokens per minute: a request counts for 60 s after its admission


def period_start(now: float, period: BudgetPeriod) -> float:
    """The unix time the budget period holding `now` began (0 for a budget that never renews)."""
    if period is BudgetPeriod.TOTAL:
        return 0.0
    moment = datetime.fromtimestamp(now, UTC)
    if period is BudgetPeriod.DAY:
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.timestamp()


def period_end(start: float, period: BudgetPeriod) -> float | None:
    """When the period that began at `start` ends and the budget renews; None: never."""
    if period is BudgetPeriod.TOTAL:
        return None
    moment = datetime.fromtimestamp(start, UTC)
    if period is BudgetPeriod.DAY:
        return start + 86400.0
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month).timestamp()


def rfc3339(at: float) -> str:
    """A unix time as RFC 3339 UTC, to the second (`2026-12-01T10:00:00Z`)."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def openai_duration(seconds: float) -> str:
    """A wait as OpenAI writes it in `x-ratelimit-reset-*`: `120ms`, `1s`, `17.5s`, `6m0s`, `1h2m3s`."""
    millis = max(0, round(seconds * 1000))
    if millis < 1000:
        return f"{millis}ms"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    text = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    return f"{minutes}m{text}" if minutes else text
