"""The relay: send a request to an instance of a route and stream its answer back, byte for byte.

It picks the least busy ready instance, retries once elsewhere when the connection fails before any byte
reached the client, enforces the deployment's timeouts, and touches the response only when the deployment
renames its model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from modelport.errors import ModelportError, UpstreamTimeout, UpstreamUnreachable
from modelport.records import Timeouts
from modelport.relay.headers import downstream_headers, upstream_headers
from modelport.relay.sse import SseModelRenamer, rename_model_in_json
from modelport.routing.router import Instance, Route, Router

Send = Callable[[dict[str, Any]], Awaitable[None]]
ErrorEvent = Callable[[ModelportError], bytes]

# Failures before any response byte: the connection was refused, or reset or closed under the request (a
# reused keep-alive connection to an instance that just died). Safe to try another instance.
_NOT_DELIVERED = (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)


@dataclass
class UpstreamRequest:
    """What goes to the instance. `path` is relative to the instance's base URL (e.g. `/chat/completions`)."""

    method: str
    path: str
    query: str
    client_headers: list[tuple[bytes, bytes]]
    body: bytes | Callable[[], Any] | None = None  # bytes, or a factory of a fresh payload per attempt
    content_length: int | None = None
    rename_to: str | None = None  # the served name, when responses must carry it instead of the upstream's
    error_event: ErrorEvent | None = None  # how to report a failure inside an event stream
    extra_headers: dict[str, str] = field(default_factory=dict)

    from_root: bool = False  # `path` is from the instance's origin, not its /v1 base (e.g. vLLM's /tokenize)

    def url(self, instance: Instance) -> str:
        base = instance.base_url
        if self.from_root:
            scheme, _, rest = base.partition("://")
            base = f"{scheme}://{rest.split('/', 1)[0]}"
        target = base + self.path
        return f"{target}?{self.query}" if self.query else target

    def payload(self) -> Any:
        return self.body() if callable(self.body) else self.body


class Relay:
    def __init__(self, session: aiohttp.ClientSession, router: Router) -> None:
        self._session = session
        self._router = router

    async def forward(self, route: Route, request: UpstreamRequest, send: Send) -> None:
        """Relay `request` to an instance of `route` and its response to `send`."""
        deadline = asyncio.get_running_loop().time() + route.spec.timeouts.total
        response, instance = await self.open(route, request)
        try:
            await stream_response(response, request, send, route.spec.timeouts, deadline)
        finally:
            instance.outstanding -= 1

    async def open(self, route: Route, request: UpstreamRequest) -> tuple[aiohttp.ClientResponse, Instance]:
        """Send the request and wait for the response headers. The caller owns the returned response and
        must decrement the instance's `outstanding` once done with it."""
        tried: list[Instance] = []
        failure: Exception | None = None
        for _ in range(2):
            instance = route.pick(exclude=tried)
            if instance is None:
                break
            tried.append(instance)
            instance.outstanding += 1
            try:
                return await self._send(instance, request, route.spec.timeouts), instance
            except _NOT_DELIVERED as exc:
                instance.outstanding -= 1
                instance.suspend(self._router.retry_after)
                failure = exc
            except BaseException:
                instance.outstanding -= 1
                raise
        if failure is None or not route.spec.is_remote:
            # A managed instance that refuses connections is restarting: come back shortly.
            raise self._router.no_ready_instance(route)
        raise UpstreamUnreachable(f"The instances of `{route.name}` could not be reached: {failure}.")

    async def _send(self, instance: Instance, request: UpstreamRequest, timeouts: Timeouts) -> aiohttp.ClientResponse:
        headers = upstream_headers(request.client_headers, instance.auth_header, request.content_length)
        headers.update(request.extra_headers)
        # No aiohttp `total`: its per-request timer is costly; the relay enforces the total itself.
        timeout = aiohttp.ClientTimeout(total=None, connect=timeouts.connect, sock_connect=timeouts.connect)
        try:
            async with asyncio.timeout(timeouts.first_byte):
                return await self._session.request(
                    request.method,
                    request.url(instance),
                    data=request.payload(),
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,
                )
        except TimeoutError:
            raise UpstreamTimeout(f"The instance did not answer within {timeouts.first_byte:g} s.") from None
        except _NOT_DELIVERED:
            raise
        except aiohttp.ClientError as exc:
            raise UpstreamUnreachable(f"Upstream request failed: {exc}.") from None


async def stream_response(
    response: aiohttp.ClientResponse, request: UpstreamRequest, send: Send, timeouts: Timeouts, deadline: float
) -> None:
    """Give the client the instance's response, as it arrives, by `deadline` (loop time) at the latest."""
    content_type = response.headers.get("content-type", "")
    is_stream = content_type.startswith("text/event-stream")
    rename = request.rename_to if 200 <= response.status < 300 else None
    try:
        if rename is not None and not is_stream and content_type.startswith("application/json"):
            await _send_renamed_json(response, rename, send, timeouts)
        else:
            await _send_stream(response, request, send, timeouts, deadline, rename if is_stream else None, is_stream)
    except BaseException:
        response.close()
        raise
    response.release()


async def _send_renamed_json(response: aiohttp.ClientResponse, model: str, send: Send, timeouts: Timeouts) -> None:
    try:
        async with asyncio.timeout(timeouts.idle):
            body = await response.read()
    except TimeoutError:
        raise UpstreamTimeout(f"The instance went silent for {timeouts.idle:g} s.") from None
    except aiohttp.ClientError as exc:
        raise UpstreamUnreachable(f"The instance's response broke off: {exc}.") from None
    body = rename_model_in_json(body, model)
    headers = downstream_headers(response.raw_headers, drop_length=True)
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_stream(
    response: aiohttp.ClientResponse,
    request: UpstreamRequest,
    send: Send,
    timeouts: Timeouts,
    deadline: float,
    rename: str | None,
    is_stream: bool,
) -> None:
    renamer = SseModelRenamer(rename) if rename is not None else None
    headers = downstream_headers(response.raw_headers, drop_length=renamer is not None)
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if renamer is None and response.content.is_eof():  # the whole body came with the headers: one write
        await send({"type": "http.response.body", "body": response.content.read_nowait(-1)})
        return
    try:
        await _pump(response, send, timeouts.idle, deadline, renamer)
        tail = renamer.flush() if renamer is not None else b""
    except ModelportError as error:
        if not (is_stream and request.error_event):
            raise
        tail = request.error_event(error)
    await send({"type": "http.response.body", "body": tail})


async def _pump(
    response: aiohttp.ClientResponse, send: Send, idle: float, deadline: float, renamer: SseModelRenamer | None
) -> None:
    """Send body chunks as they arrive. The idle clock runs only while waiting on the instance, so a
    slow client never counts as a silent upstream; the total `deadline` always holds."""
    loop = asyncio.get_running_loop()
    content = response.content
    try:
        async with asyncio.timeout(None) as timer:
            while True:
                timer.reschedule(min(loop.time() + idle, deadline))
                chunk = await content.readany()
                timer.reschedule(None)
                if not chunk:
                    return
                if renamer is not None:
                    chunk = renamer.feed(chunk)
                    if not chunk:
                        continue
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except TimeoutError:
        if loop.time() >= deadline:
            raise UpstreamTimeout("The response exceeded the deployment's total timeout.") from None
        raise UpstreamTimeout(f"The instance went silent for {idle:g} s.") from None
    except aiohttp.ClientError as exc:
        raise UpstreamUnreachable(f"The instance's response broke off: {exc}.") from None
