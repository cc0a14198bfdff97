"""The relay: send a request to an instance of a route and stream its answer back, byte for byte.

It picks the least busy ready instance, retries once elsewhere when the connection fails before any byte
reached the client, enforces the deployment's timeouts, and touches the response only when the deployment
renames its model.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from modelport.errors import BadRequest, ModelportError, NoReadyInstance, UpstreamTimeout, UpstreamUnreachable
from modelport.records import Timeouts
from modelport.relay.headers import downstream_headers, upstream_headers
from modelport.relay.http1 import BodySource, ConnectFailed, NotDelivered, Pool, Response, UnsafeRequest, UpstreamError
from modelport.relay.sse import SseModelRenamer, rename_model_in_json
from modelport.routing.router import Instance, Route, Router

Send = Callable[[dict[str, Any]], Awaitable[None]]
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
    """When every open relayed stream must end: a drain's deadline, infinity until a drain begins. A stream
    still open then ends with an error event rather than being cut mid-event when the server gives up."""

    def __init__(self) -> None:
        self.at = math.inf  # loop time
        self._timers: set[asyncio.Timeout] = set()

    def begin(self, at: float) -> None:
        """Every stream must end by `at` (loop time). Call on the event loop's thread."""
        self.at = at
        for timer in self._timers:
            when = timer.when()
            if when is None or when > at:
                timer.reschedule(at)

    def track(self, timer: asyncio.Timeout) -> None:
        self._timers.add(timer)

    def untrack(self, timer: asyncio.Timeout) -> None:
        self._timers.discard(timer)


class Relay:
    def __init__(self, pool: Pool, router: Router) -> None:
        self._pool = pool
        self._router = router
        self.cutoff = StreamCutoff()

    async def forward(self, route: Route, request: UpstreamRequest, send: Send) -> None:
        """Relay `request` to an instance of `route` and its response to `send`."""
        deadline = asyncio.get_running_loop().time() + route.spec.timeouts.total
        response, instance = await self.open(route, request, deadline)
        try:
            await stream_response(response, request, send, route.spec.timeouts, deadline, self.cutoff)
        finally:
            instance.outstanding -= 1

    async def open(self, route: Route, request: UpstreamRequest,
                   deadline: float | None = None) -> tuple[Response, Instance]:
        """Send the request and wait for the response headers, by `deadline` (loop time) at the latest when
        given. The caller owns the returned response (and must `close()` it) and must decrement the
        instance's `outstanding` once done with it.

        With no ready instance, the routes are re-read once (another process may know better) first."""
        try:
            return await self._open(route, request, deadline)
        except NoReadyInstance:
            if not await self._router.refresh_soon():
                raise
            return await self._open(self._router.routes.get(route.name, route), request, deadline)

    async def _open(self, route: Route, request: UpstreamRequest,
                    deadline: float | None) -> tuple[Response, Instance]:
        tried: list[Instance] = []
        failure: NotDelivered | None = None
        for _ in range(2):
            instance = route.pick(exclude=tried)
            if instance is None:
                break
            tried.append(instance)
            instance.outstanding += 1
            try:
                return await self._send(instance, request, route.spec.timeouts, deadline), instance
            except NotDelivered as exc:
                instance.outstanding -= 1
                if isinstance(exc, ConnectFailed):  # refused: restarting or gone, so others get the traffic
                    instance.suspend(self._router.retry_after)
                failure = exc  # one connection closed unanswered says nothing about the instance's health
            except BaseException:
                instance.outstanding -= 1
                raise
        if failure is None or (isinstance(failure, ConnectFailed) and not route.spec.is_remote):
            # A managed instance that refuses connections is restarting: come back shortly.
            raise self._router.no_ready_instance(route)
        raise UpstreamUnreachable(f"The instances of `{route.name}` could not be reached: {failure}")

    async def _send(self, instance: Instance, request: UpstreamRequest, timeouts: Timeouts,
                    deadline: float | None) -> Response:
        origin, base_path = self._pool.resolve(instance.base_url)
        head_by = asyncio.get_running_loop().time() + timeouts.first_byte
        limit = head_by if deadline is None else min(head_by, deadline)
        try:
            headers = upstream_headers(request.client_headers, instance.auth_header, request.extra_headers)
            async with asyncio.timeout_at(limit):
                return await self._pool.request(
                    origin, request.method, request.target(base_path), headers, request.body,
                    request.content_length, connect_timeout=timeouts.connect,
                )
        except TimeoutError:
            if limit < head_by:
                raise UpstreamTimeout("The instance did not answer within the deployment's total timeout "
                                      f"({timeouts.total:g} s).") from None
            raise UpstreamTimeout(f"The instance did not answer within {timeouts.first_byte:g} s.") from None
        except NotDelivered:
            raise
        except UnsafeRequest as exc:
            raise BadRequest(str(exc), code="unsafe_request") from None
        except UpstreamError as exc:
            raise UpstreamUnreachable(f"Upstream request failed: {exc}") from None


async def stream_response(
    response: Response, request: UpstreamRequest, send: Send, timeouts: Timeouts, deadline: float,
    cutoff: StreamCutoff,
) -> None:
    """Give the client the instance's response, as it arrives, by `deadline` (loop time) at the latest."""
    content_type = response.header(b"content-type") or b""
    is_stream = content_type.startswith(b"text/event-stream")
    rename = request.rename_to if 200 <= response.status < 300 else None
    try:
        if rename is not None and not is_stream and content_type.startswith(b"application/json"):
            await _send_renamed_json(response, rename, send, timeouts)
        else:
            await _send_stream(response, request, send, timeouts, deadline, cutoff, rename if is_stream else None,
                               is_stream)
    finally:
        response.close()


async def read_whole(response: Response, idle: float) -> bytes:
    """The whole body of `response`, its failures as the gateway's errors (504 silent, 502 broken)."""
    try:
        async with asyncio.timeout(idle):
            return await response.read()
    except TimeoutError:
        raise UpstreamTimeout(f"The instance went silent for {idle:g} s.") from None
    except UpstreamError as exc:
        raise UpstreamUnreachable(f"The instance's response broke off: {exc}") from None


async def _send_renamed_json(response: Response, model: str, send: Send, timeouts: Timeouts) -> None:
    body = rename_model_in_json(await read_whole(response, timeouts.idle), model)
    headers = downstream_headers(response.headers, drop_length=True)
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_stream(
    response: Response,
    request: UpstreamRequest,
    send: Send,
    timeouts: Timeouts,
    deadline: float,
    cutoff: StreamCutoff,
    rename: str | None,
    is_stream: bool,
) -> None:
    renamer = SseModelRenamer(rename) if rename is not None else None
    headers = downstream_headers(response.headers, drop_length=renamer is not None)
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if renamer is None and response.is_eof():  # the whole body came with the headers: one write
        await send({"type": "http.response.body", "body": response.read_nowait()})
        return
    try:
        await _pump(response, send, timeouts.idle, deadline, cutoff, renamer)
        tail = renamer.flush() if renamer is not None else b""
    except ModelportError as error:
        if not (is_stream and request.error_event):
            raise
        tail = request.error_event(error)
    await send({"type": "http.response.body", "body": tail})


async def _pump(response: Response, send: Send, idle: float, deadline: float, cutoff: StreamCutoff,
                renamer: SseModelRenamer | None) -> None:
    """Send body chunks as they arrive. The idle clock runs only while waiting on the instance, so a
    slow client never counts as a silent upstream; the total `deadline` and a drain's cutoff always hold."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(None) as timer:
            cutoff.track(timer)
            try:
                while True:
                    timer.reschedule(min(loop.time() + idle, deadline, cutoff.at))
                    chunk = await response.readany()
                    timer.reschedule(None)
                    if not chunk:
                        return
                    if renamer is not None:
                        chunk = renamer.feed(chunk)
                        if not chunk:
                            continue
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            finally:
                cutoff.untrack(timer)
    except TimeoutError:
        now = loop.time()
        if now >= cutoff.at:
            raise NoReadyInstance("The gateway is shutting down; the stream was ended before it finished.",
                                  code="shutting_down") from None
        if now >= deadline:
            raise UpstreamTimeout("The response exceeded the deployment's total timeout.") from None
        raise UpstreamTimeout(f"The instance went silent for {idle:g} s.") from None
    except UpstreamError as exc:
        raise UpstreamUnreachable(f"The instance's response broke off: {exc}") from None
