"""One upstream exchange: an instance chosen, the request sent, the response read, the instance released.

Every upstream call goes through `Relay.exchange(route, request)`:

    async with relay.exchange(route, request) as exchange:   # instance picked, head received
        data = await exchange.read()                         # the whole body, or:
        await exchange.pump(deliver)                         # each piece as it arrives, or:
        piece = await exchange.next_chunk(wait=ping_left)    # one piece, for loops with their own clock

Leaving the block closes the response (an unfinished one drops its connection, which tells the instance to
stop) and releases the instance's `outstanding` count, in this one place. The deployment's timeouts hold in
every read: `idle` between pieces, `total` over the whole exchange (the wait for the head included), and a
drain's cutoff; their failures are the gateway's errors (504 silent or too long, 502 broken, 503 draining).

An `ExchangeObserver`, when the relay has a factory for one, sees each exchange's head, body pieces and end:
usage accounting and metrics hang off it without touching the callers.
"""

from __future__ import annotations

import asyncio
import enum
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

import orjson

from modelport.errors import (
    AuthenticationFailed,
    BadRequest,
    BadUpstreamResponse,
    ModelportError,
    NoReadyInstance,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from modelport.relay.body import ClientGone
from modelport.relay.http1 import BodySource, Response, UpstreamError

if TYPE_CHECKING:
    from modelport.routing.router import Instance, Route

ErrorEvent = Callable[[ModelportError], bytes]


@dataclass
class UpstreamRequest:
    """What goes to the instance. `path` is relative to the instance's base URL (e.g. `/chat/completions`)."""

    method: str
    path: str
    query: str
    client_headers: list[tuple[bytes, bytes]]
    body: BodySource = None  # bytes, or a factory of a fresh payload (bytes or async chunks) per attempt
    content_length: int | None = None
    rename_to: str | None = None  # the served name, when responses must carry it instead of the upstream's
    error_event: ErrorEvent | None = None  # how to report a failure inside an event stream
    extra_headers: dict[bytes, bytes] = field(default_factory=dict)  # replace the client's headers of that name

    from_root: bool = False  # `path` is from the instance's origin, not its /v1 base (e.g. vLLM's /tokenize)

    def target(self, base_path: str) -> str:
        """The request target at the instance, whose base URL has path `base_path`."""
        target = self.path if self.from_root else base_path + self.path
        return f"{target}?{self.query}" if self.query else target


class StreamCutoff:
    """When every open exchange must end: a drain's deadline, infinity until a drain begins. A stream still
    open then ends with an error event rather than being cut mid-event when the server gives up."""

    def __init__(self) -> None:
        self.at = math.inf  # loop time
        self._timers: set[asyncio.Timeout] = set()

    def begin(self, at: float) -> None:
        """Every exchange must end by `at` (loop time). Call on the event loop's thread."""
        self.at = at
        for timer in self._timers:
            when = timer.when()
            if when is not None and when > at:  # a timer not armed is not waiting on the instance
                timer.reschedule(at)

    def track(self, timer: asyncio.Timeout) -> None:
        self._timers.add(timer)

    def untrack(self, timer: asyncio.Timeout) -> None:
        self._timers.discard(timer)


class Outcome(enum.StrEnum):
    """How an exchange ended, for observers."""

    COMPLETED = "completed"  # the whole response was read
    ABANDONED = "abandoned"  # the caller left before the end of the body (e.g. it had what it needed)
    CLIENT_GONE = "client_gone"  # the client hung up
    UPSTREAM_TIMEOUT = "upstream_timeout"
    UPSTREAM_ERROR = "upstream_error"  # unreachable, broken off, not what its protocol promises
    FAILED = "failed"  # anything else (a bad request, no ready instance, a cancelled task)


class ExchangeObserver(Protocol):
    """Sees one exchange. Its calls must be quick and must not raise: they run on the request's path."""

    def on_response(self, exchange: Exchange) -> None: ...
    def on_chunk(self, chunk: bytes) -> None: ...
    def on_end(self, exchange: Exchange | None, outcome: Outcome, error: BaseException | None) -> None: ...


ObserverFactory = Callable[["Route", UpstreamRequest], ExchangeObserver | None]


class Opener(Protocol):
    """What an exchange needs of the relay: a way to send the request, and the drain's cutoff."""

    cutoff: StreamCutoff

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    async def open(self, route: Route, request: UpstreamRequest,
                   deadline: float | None = None) -> tuple[Response, Instance]: ...


class Exchange:
    """One request to one instance of a route and its response. Use as `async with relay.exchange(...)`."""

    __slots__ = ("_loop", "_observer", "_relay", "_waiting_since", "complete", "deadline", "instance", "received",
                 "request", "response", "route", "started")

    def __init__(self, relay: Opener, route: Route, request: UpstreamRequest,
                 observer: ExchangeObserver | None) -> None:
        self._relay = relay
        self._observer = observer
        self._loop = relay.loop
        self.route = route
        self.request = request
        self.started = self._loop.time()
        self.deadline = self.started + route.spec.timeouts.total
        self.instance: Instance | None = None
        self.response: Response | None = None
        self.received = 0  # body bytes read from the instance
        self.complete = False  # the body was read to its end
        self._waiting_since: float | None = None  # when next_chunk() began waiting for the next piece

    async def __aenter__(self) -> Exchange:
        try:
            self.response, self.instance = await self._relay.open(self.route, self.request, self.deadline)
        except BaseException as error:
            if self._observer is not None:
                self._observer.on_end(None, outcome_of(error), error)
            raise
        if self._observer is not None:
            self._observer.on_response(self)
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self.response is not None and self.instance is not None
        self.response.close()
        self.instance.outstanding -= 1
        if self._observer is not None:
            outcome = outcome_of(error) if error is not None else (
                Outcome.COMPLETED if self.complete else Outcome.ABANDONED)
            self._observer.on_end(self, outcome, error)

    @property
    def status(self) -> int:
        assert self.response is not None
        return self.response.status

    def header(self, name: bytes) -> bytes | None:
        """The response header `name` (lowercase), or None."""
        assert self.response is not None
        return self.response.header(name)

    def require_event_stream(self) -> None:
        """502 when a streamed request is answered with a declared type other than an event stream."""
        kind = self.header(b"content-type")
        if kind is not None and not kind.startswith(b"text/event-stream"):
            shown = kind.decode("latin-1")
            raise BadUpstreamResponse(f"The instance answered a streamed request with {shown}, not an event stream.")

    def _got(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self._observer is not None:
            self._observer.on_chunk(chunk)

    async def read(self) -> bytes:
        """The whole body, by the idle and total timeouts."""
        parts = []
        while chunk := await self.next_chunk():
            parts.append(chunk)
        return b"".join(parts)

    async def next_chunk(self, wait: float | None = None) -> bytes | None:
        """The next piece of body (b"" at its end). With `wait`, None when that many seconds pass first
        (for callers that must do something else meanwhile, such as sending a ping); the idle clock keeps
        running across such returns, until a piece arrives."""
        assert self.response is not None
        if self.response.is_eof():  # all of it is here (most whole answers come with their head): no timer
            return self._arrived(self.response.read_nowait())
        loop, cutoff, idle = self._loop, self._relay.cutoff, self.route.spec.timeouts.idle
        if self._waiting_since is None:
            self._waiting_since = loop.time()
        limit = min(self._waiting_since + idle, self.deadline)
        waited_until = math.inf if wait is None else loop.time() + wait
        timer = asyncio.timeout_at(min(limit, waited_until, cutoff.at))
        try:
            async with timer:
                cutoff.track(timer)  # a drain that begins now reschedules it
                try:
                    chunk = await self.response.readany()
                finally:
                    cutoff.untrack(timer)
        except TimeoutError:
            when = timer.when() or loop.time()
            if when < min(limit, cutoff.at):
                return None  # `wait` passed first
            raise self._timed_out(when, idle) from None
        except UpstreamError as exc:
            raise UpstreamUnreachable(f"The instance's response broke off: {exc}") from None
        return self._arrived(chunk)

    def _arrived(self, chunk: bytes) -> bytes:
        """Account for a piece that came (b"": the end of the body) and hand it on."""
        self._waiting_since = None
        if chunk:
            self._got(chunk)
        else:
            self.complete = True
        return chunk

    async def pump(self, deliver: Callable[[bytes], Awaitable[None]]) -> None:
        """Hand each piece of body to `deliver` as it arrives, until the end. The idle clock runs only
        while waiting on the instance, so a slow `deliver` (a slow client) never counts as a silent
        instance; the total and the drain's cutoff always hold. One timer for the whole body."""
        response = self.response
        assert response is not None
        loop, cutoff = self._loop, self._relay.cutoff
        idle, deadline = self.route.spec.timeouts.idle, self.deadline
        try:
            async with asyncio.timeout(None) as timer:
                cutoff.track(timer)
                try:
                    while True:
                        timer.reschedule(min(loop.time() + idle, deadline, cutoff.at))
                        chunk = await response.readany()
                        timer.reschedule(None)
                        if not chunk:
                            self.complete = True
                            return
                        self._got(chunk)
                        await deliver(chunk)
                finally:
                    cutoff.untrack(timer)
        except TimeoutError:
            raise self._timed_out(timer.when() or loop.time(), idle) from None
        except UpstreamError as exc:
            raise UpstreamUnreachable(f"The instance's response broke off: {exc}") from None

    def _timed_out(self, when: float, idle: float) -> ModelportError:
        """The error for a timer that fired at `when` (its scheduled time: the loop may run it a little
        early, so the clock can read a hair less than the limit that fired)."""
        if when >= self._relay.cutoff.at:
            return NoReadyInstance("The gateway is shutting down; the response was ended before it finished.",
                                   code="shutting_down")
        if when >= self.deadline:
            return UpstreamTimeout("The response exceeded the deployment's total timeout "
                                   f"({self.route.spec.timeouts.total:g} s).")
        return UpstreamTimeout(f"The instance went silent for {idle:g} s.")


def upstream_error(status: int, body: bytes) -> ModelportError:
    """An instance's error answer as one of ours, keeping its status and message."""
    try:
        error = orjson.loads(body).get("error", {})
        message = error.get("message") if isinstance(error, dict) else str(error)
    except (orjson.JSONDecodeError, AttributeError):
        message = None
    result = _BY_STATUS.get(status, ModelportError)(str(message or f"The instance answered HTTP {status}."))
    result.status = status
    return result


_BY_STATUS: dict[int, type[ModelportError]] = {
    400: BadRequest, 401: AuthenticationFailed, 403: PermissionDenied, 404: NotFound, 413: PayloadTooLarge,
    422: BadRequest, 429: RateLimited, 503: NoReadyInstance, 504: UpstreamTimeout,
}


HUNG_UP = "client hung up"  # the message of the cancellation that `api.request.until_disconnect` makes


def outcome_of(error: BaseException) -> Outcome:
    """The outcome an error ends an exchange with (a task cancelled because its client hung up: client_gone)."""
    if isinstance(error, ClientGone) or (isinstance(error, asyncio.CancelledError) and error.args[:1] == (HUNG_UP,)):
        return Outcome.CLIENT_GONE
    if isinstance(error, UpstreamTimeout):
        return Outcome.UPSTREAM_TIMEOUT
    if isinstance(error, UpstreamUnreachable):
        return Outcome.UPSTREAM_ERROR
    return Outcome.FAILED
