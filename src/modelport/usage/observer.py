"""`UsageObserver`: the upstream half of a request's usage record, filled from one exchange as it passes.

`observer_factory()` is what `Relay.observe` gets: it finds the request's record through
`record.CURRENT` (see there why a context variable) and watches the exchange only when there is one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from modelport.relay.exchange import Exchange, ExchangeObserver, ObserverFactory, Outcome, UpstreamRequest
from modelport.usage.parse import (
    REQUEST_UNIT_PATHS,
    WHOLE_LIMIT,
    JsonUsage,
    SseUsage,
    UsageParser,
    json_units,
    request_units,
)
from modelport.usage.record import CURRENT, Units, UsageRecord

if TYPE_CHECKING:
    from modelport.routing.router import Route

PROXY_ENDPOINT = "/model/proxy"  # the generic proxy counts requests only: its answers have no known shape


class UsageObserver:
    """Sees one exchange of `record`'s request: deployment, instance, first byte, billed units, outcome."""

    __slots__ = ("_body", "_parser", "_started", "record", "request", "route")

    def __init__(self, record: UsageRecord, route: Route, request: UpstreamRequest) -> None:
        self.record = record
        self.route = route
        self.request = request
        self._parser: UsageParser | None = None
        self._body: bytes | None = None  # a JSON answer while it is one piece (most come whole with their head)
        self._started = time.perf_counter()

    def on_response(self, exchange: Exchange) -> None:
        record = self.record
        instance = exchange.instance
        if instance is not None:
            deployment, ordinal = instance.id
            record.instance = f"{deployment}/{ordinal}"
            if record.trace is not None:
                record.trace.instance_url = instance.base_url
        status = record.upstream_status = exchange.status
        content_type = exchange.header(b"content-type") or b""
        if content_type.startswith(b"text/event-stream"):
            record.streamed = True
            self._parser = SseUsage()
        elif status < 400 and b"json" in content_type and record.endpoint != PROXY_ENDPOINT:
            if self.request.path.startswith("/images/"):
                self._parser = JsonUsage(count_images=True)
            else:
                self._body = b""

    def on_chunk(self, chunk: bytes) -> None:
        if self.record.first_byte is None:
            self.record.first_byte = time.perf_counter()
        if self._parser is not None:
            self._parser.feed(chunk)
        elif self._body is not None:
            if not self._body and len(chunk) <= WHOLE_LIMIT:
                self._body = chunk
                return
            parser = self._parser = JsonUsage()  # a second piece: the parser keeps what it needs of them
            parser.feed(self._body)
            parser.feed(chunk)
            self._body = None

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
        if record.upstream_status >= 400 or record.endpoint == PROXY_ENDPOINT:
            return
        if self._body or self._parser is not None:
            units = record.units
            if units.input_tokens or units.output_tokens or units.images or units.audio_seconds:
                units.add(self._units(Units()))  # a later exchange of the request: its units add up
            else:
                self._units(units)  # the first: its units go straight into the record
        if self.request.path.endswith(REQUEST_UNIT_PATHS):
            record.units.add(request_units(self.request.path, self.request.body))

    def _units(self, into: Units) -> Units:
        if self._body:
            return json_units(self._body, into)
        assert self._parser is not None
        return self._parser.finish(into)


def observer_factory() -> ObserverFactory:
    """The relay's observer factory: an observer for exchanges made while serving a recorded request (and,
    with traces on, the instance gets the request's trace context)."""

    def observe(route: Route, request: UpstreamRequest) -> ExchangeObserver | None:
        record = CURRENT.get()
        if record is None:
            return None
        if record.trace is not None:
            request.extra_headers.update(record.trace.upstream_headers())
            record.trace.requested_model = route.requested_name
        return UsageObserver(record, route, request)

    return observe
