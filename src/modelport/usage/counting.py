"""The metrics' per-request numbers, counted a settled batch of finished requests at a time.

The numbers of each (deployment, endpoint) are looked up once and kept (`_Slots`: the very lists the
families hold), so counting a request is a few list additions and a bisect per histogram.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from modelport.usage.aggregate import Family
from modelport.usage.record import UsageRecord

UPSTREAM_ERRORS = {"upstream_timeout": "timeout", "upstream_error": "unreachable"}


@dataclass(frozen=True)
class Families:
    """The metrics' families that count finished requests (`usage.metrics` names and describes them)."""

    requests: Family  # deployment, endpoint, status
    duration: Family  # deployment, endpoint
    client_gone: Family  # deployment, endpoint
    added: Family  # endpoint
    ttft: Family  # deployment, endpoint
    tpot: Family  # deployment
    token_usage: Family  # deployment, token type
    tokens: Family  # deployment, token type
    upstream_errors: Family  # deployment, kind


def _observe(row: list[float], buckets: tuple[float, ...], value: float) -> None:
    row[bisect_left(buckets, value)] += 1  # the first bucket whose bound is >= value; last: +Inf
    row[-1] += value


class _Slots:
    """The rows of one (deployment, endpoint) in each family; `requests` and `errors` filled as met."""

    __slots__ = ("added", "deployment", "duration", "endpoint", "errors", "gone", "input", "output", "requests",
                 "tpot", "ttft")

    def __init__(self, metrics: Families, deployment: str, endpoint: str, relayed: bool) -> None:
        route = (deployment, endpoint)
        self.deployment = deployment
        self.endpoint = endpoint
        self.requests: dict[int, list[float]] = {}
        self.errors: dict[str, list[float]] = {}
        self.duration = metrics.duration.row(route)
        self.gone = metrics.client_gone.row(route)
        if relayed:  # only requests that reached a deployment have these
            self.added = metrics.added.row((endpoint,))
            self.ttft = metrics.ttft.row(route)
            self.tpot = metrics.tpot.row((deployment,))
            self.input = (metrics.token_usage.row((deployment, "input")), metrics.tokens.row((deployment, "input")))
            self.output = (metrics.token_usage.row((deployment, "output")),
                           metrics.tokens.row((deployment, "output")))


class TurnCounter:
    """Counts finished requests into `metrics`."""

    def __init__(self, metrics: Families) -> None:
        self._metrics = metrics
        self._slots: dict[tuple[str | None, str], _Slots] = {}

    def _new(self, key: tuple[str | None, str]) -> _Slots:
        deployment, endpoint = key
        slots = self._slots[key] = _Slots(self._metrics, deployment or "", endpoint, deployment is not None)
        return slots

    def count(self, records: list[UsageRecord]) -> None:
        """Count each record: its request, duration, and for relayed ones the added time, upstream errors,
        time to first token, time per output token and tokens."""
        metrics, known = self._metrics, self._slots
        duration_buckets, added_buckets = metrics.duration.buckets, metrics.added.buckets
        for record in records:
            slots = known.get((record.deployment, record.endpoint)) or self._new((record.deployment, record.endpoint))
            status = record.status
            row = slots.requests.get(status)
            if row is None:
                row = slots.requests[status] = metrics.requests.row((slots.deployment, slots.endpoint, str(status)))
            row[0] += 1
            duration = record.ended - record.t0
            _observe(slots.duration, duration_buckets, duration)
            if record.client_gone:
                slots.gone[0] += 1
            if record.deployment is None:
                continue
            _observe(slots.added, added_buckets, max(0.0, duration - record.upstream_seconds))
            kind = UPSTREAM_ERRORS.get(record.outcome) or ("http_5xx" if record.upstream_status >= 500 else None)
            if kind is not None:
                errors = slots.errors.get(kind)
                if errors is None:
                    errors = slots.errors[kind] = metrics.upstream_errors.row((slots.deployment, kind))
                errors[0] += 1
            units, first_byte = record.units, record.first_byte
            if record.streamed and first_byte is not None and status < 400:
                _observe(slots.ttft, metrics.ttft.buckets, first_byte - record.t0)
                if units.output_tokens > 1:
                    per_token = (record.ended - first_byte) / (units.output_tokens - 1)
                    _observe(slots.tpot, metrics.tpot.buckets, per_token)
            for count, (histogram, counter) in ((units.input_tokens, slots.input), (units.output_tokens, slots.output)):
                if count:
                    _observe(histogram, metrics.token_usage.buckets, count)
                    counter[0] += count
