"""The relay: send a request to an instance of a route and stream its answer back, byte for byte.

It picks the least busy ready instance, retries once elsewhere when the connection fails before any byte
reached the client, enforces the deployment's timeouts, and touches the response only when the deployment
renames its model.
"""

from __future__ import annotations

import asyncio

from modelport.errors import BadRequest, ModelportError, NoReadyInstance, UpstreamTimeout, UpstreamUnreachable
from modelport.records import Timeouts
from modelport.relay.exchange import Exchange, ObserverFactory, StreamCutoff, UpstreamRequest
from modelport.relay.headers import downstream_headers, upstream_headers
from modelport.relay.http1 import ConnectFailed, NotDelivered, Pool, Response, UnsafeRequest, UpstreamError
from modelport.relay.sse import SseModelRenamer, rename_model_in_json
from modelport.routing.router import Instance, Route, Router
from modelport.types import Send


class Relay:
    """Sends requests to the instances of routes: every upstream exchange starts in `exchange()`."""

    def __init__(self, pool: Pool, router: Router) -> None:
        self._pool = pool
        self._router = router
        self.cutoff = StreamCutoff()
        self.observe: ObserverFactory | None = None  # an observer for each exchange (usage, metrics)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the relay's exchanges run on (its pool's)."""
        return self._pool.loop

    def exchange(self, route: Route, request: UpstreamRequest) -> Exchange:
        """One exchange with an instance of `route`; use as `async with` (see `relay.exchange`)."""
        observer = self.observe(route, request) if self.observe is not None else None
        return Exchange(self, route, request, observer)

    async def forward(self, route: Route, request: UpstreamRequest, send: Send) -> None:
        """Relay `request` to an instance of `route` and its response to `send`."""
        async with self.exchange(route, request) as exchange:
            await stream_response(exchange, send)

    async def open(self, route: Route, request: UpstreamRequest,
                   deadline: float | None = None) -> tuple[Response, Instance]:
        """Send the request and wait for the response headers, by `deadline` (loop time) at the latest when
        given. Only `Exchange` calls it: it owns the response and releases the instance.

        With no ready instance, the routes are re-read once (another process may know better) first."""
        try:
            return await self._open(route, request, deadline)
        except NoReadyInstance:
            if not await self._router.refresh_soon():
                raise
            return await self._open(self._router.routes.get(route.name, route), request, deadline)

    async def _open(self, route: Route, request: UpstreamRequest,
                    deadline: float | None) -> tuple[Response, Instance]:
        """Try instances in least-outstanding order: another one after a connection that carried nothing
        (twice at most), and after a full instance's refusal (each once). A full instance is not an
        unhealthy one: it is not suspended, and its refusal is the answer when no other could serve."""
        tried: list[Instance] = []
        failure: NotDelivered | None = None
        refusal: tuple[Response, Instance] | None = None  # the latest "queue full" answer
        undelivered = 0
        while undelivered < 2 and (instance := route.pick(exclude=tried)) is not None:
            tried.append(instance)
            instance.outstanding += 1
            try:
                response = await self._send(instance, request, route.spec.timeouts, deadline)
            except NotDelivered as exc:
                instance.outstanding -= 1
                # Refused, or (a managed one) reset on a fresh connection: a process that is exiting takes a
                # moment to close its listening socket after SIGKILL or a crash. Either way it is restarting or
                # gone, so others get the traffic.
                if isinstance(exc, ConnectFailed) or not route.spec.is_remote:
                    instance.suspend(self._router.retry_after)
                failure = exc  # one connection closed unanswered says nothing about the instance's health
                undelivered += 1
                continue
            except ModelportError:
                instance.outstanding -= 1
                if refusal is None:
                    raise
                return refusal  # e.g. a streamed body can't be sent twice: the full instance's answer stands
            except BaseException:
                instance.outstanding -= 1
                _release(refusal)
                raise
            if not is_refusal(response):
                _release(refusal)
                return response, instance
            _release(refusal)
            refusal = (response, instance)
        if refusal is not None:
            return refusal
        if failure is None or not route.spec.is_remote:
            # A managed instance that refuses or drops connections is restarting: come back shortly.
            raise self._router.no_ready_instance(route)
        raise UpstreamUnreachable(f"The instances of `{route.name}` could not be reached: {failure}")

    async def _send(self, instance: Instance, request: UpstreamRequest, timeouts: Timeouts,
                    deadline: float | None) -> Response:
        origin, base_path = self._pool.resolve(instance.base_url)
        head_by = self._pool.loop.time() + timeouts.first_byte
        limit = head_by if deadline is None else min(head_by, deadline)
        try:
            headers = upstream_headers(request.client_headers, instance.auth_header, request.extra_headers)
            return await self._pool.request(
                origin, request.method, request.target(base_path), headers, request.body,
                request.content_length, connect_timeout=timeouts.connect, deadline=limit,
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


REFUSED_HEADER = b"x-modelport-refused"  # a worker's 503 that means "full, try another replica"


def is_refusal(response: Response) -> bool:
    """A full instance's answer: 503 with `x-modelport-refused` (sent before the instance did any work)."""
    return response.status == 503 and response.header(REFUSED_HEADER) is not None


def _release(answer: tuple[Response, Instance] | None) -> None:
    if answer is not None:
        answer[0].close()
        answer[1].outstanding -= 1


async def stream_response(exchange: Exchange, send: Send) -> None:
    """Give the client the instance's response as it arrives; renamed when the deployment renames its model."""
    response, request = exchange.response, exchange.request
    assert response is not None
    content_type = response.header(b"content-type") or b""
    is_stream = content_type.startswith(b"text/event-stream")
    rename = request.rename_to if 200 <= response.status < 300 else None
    if rename is not None and not is_stream and content_type.startswith(b"application/json"):
        body = rename_model_in_json(await exchange.read(), rename)
        headers = downstream_headers(response.headers, drop_length=True)
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    renamer = SseModelRenamer(rename) if rename is not None and is_stream else None
    headers = downstream_headers(response.headers, drop_length=renamer is not None)
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if renamer is None and response.is_eof():  # the whole body came with the headers: one write
        await send({"type": "http.response.body", "body": await exchange.read()})
        return

    async def deliver(chunk: bytes) -> None:
        if renamer is not None:
            chunk = renamer.feed(chunk)
            if not chunk:
                return
        await send({"type": "http.response.body", "body": chunk, "more_body": True})

    try:
        await exchange.pump(deliver)
        tail = renamer.flush() if renamer is not None else b""
    except ModelportError as error:
        if not (is_stream and request.error_event):
            raise
        tail = request.error_event(error)
    await send({"type": "http.response.body", "body": tail})
