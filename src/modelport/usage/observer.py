"""`UsageObserver`: the upstream half of a request's usage record, filled from one exchange as it passes.

`observer_factory()` is what `Relay.observe` gets: it finds the request's record through
`record.CURRENT` (see there why a context variable) and watches the exchange only when there is one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from modelport.relay.exchange import Exchange, ExchangeObserver, ObserverFactory, Outcome, UpstreamRequest
from modelport.usage.parse import REQUEST_UNIT_PATHS, JsonUsage, SseUsage, UsageParser, request_units
from modelport.usage.record import CURRENT, UsageRecord

if TYPE_CHECKING:
    from modelport.routing.router import Route

PROXY_ENDPOINT = "/model/proxy"  # the generic proxy counts requests only: its answers have no known shape


class UsageObserver:
    """Sees one exchange of `record`'s request: deployment, instance, first byte, billed units, outcome."""

    __slots__ = ("_parser", "_started", "record", "request", "route")

    def __init__(self, record: UsageRecord, route: Route, request: UpstreamRequest) -> None:
        self.record = record
        self.route = route
        self.request = request
        self._parser: UsageParser | None = None
        self._started = time.perf_counter()

    def on_response(self, exchange: Exchange) -> None:
        record = self.record
        record.deployment = self.route.name
        if exchange.instance is not None:
            deployment, ordinal = exchange.instance.id
            record.instance = f"{deployment}/{ordinal}"
        record.upstream_status = exchange.status
        content_type = exchange.header(b"content-type") or b""
        if content_type.startswith(b"text/event-stream"):
            record.streamed = True
            self._parser = SseUsage()
        elif exchange.status < 400 and b"json" in content_type and record.endpoint != PROXY_ENDPOINT:
            self._parser = JsonUsage(count_images=self.request.path.startswith("/images/"))

    def on_chunk(self, chunk: bytes) -> None:
        if self.record.first_byte is None:
            self.record.first_byte = time.perf_counter()
        if self._parser is not None:
            self._parser.feed(chunk)

    def on_end(self, exchange: Exchange | None, outcome: Outcome, error: BaseException | None) -> None:
        record = self.record
        now = time.perf_counter()
        record.deployment = self.route.name  # also when no instance answered (none ready, or the client left)
        record.upstream_seconds += now - self._started
        record.outcome = outcome.value
        if outcome is Outcome.CLIENT_GONE:  # a hang-up, or the cancellation it caused (relay.exchange.HUNG_UP)
            record.client_gone = True
        if exchange is None or exchange.response is None:
            return
        if record.first_byte is None:
            record.first_byte = now
        if exchange.status >= 400 or record.endpoint == PROXY_ENDPOINT:
            return
        if self._parser is not None:
            record.units.add(self._parser.finish())
        if self.request.path.endswith(REQUEST_UNIT_PATHS):
            record.units.add(request_units(self.request.path, self.request.body))


def observer_factory() -> ObserverFactory:
    """The relay's observer factory: an observer for exchanges made while serving a recorded request."""

    def observe(route: Route, request: UpstreamRequest) -> ExchangeObserver | None:
        record = CURRENT.get()
        return None if record is None else UsageObserver(record, route, request)

    return observe
