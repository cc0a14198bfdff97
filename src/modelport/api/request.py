"""What a handler gets: the raw ASGI request plus what the dispatcher already established."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelport.errors import PayloadTooLarge, UnsupportedMediaType
from modelport.records import ApiKey
from modelport.relay.body import ClientGone, read_body
from modelport.relay.exchange import HUNG_UP, ErrorEvent, UpstreamRequest
from modelport.relay.headers import header
from modelport.relay.http1 import BodySource
from modelport.types import Receive

if TYPE_CHECKING:
    from modelport.routing.router import Route


@dataclass
class Request:
    scope: dict[str, Any]
    receive: Receive
    key: ApiKey | None
    path_params: dict[str, str]

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return self.scope["headers"]  # type: ignore[no-any-return]

    @property
    def query(self) -> str:
        return str(self.scope.get("query_string", b"").decode("latin-1"))

    def header(self, name: bytes) -> bytes | None:
        return header(self.headers, name)

    def content_length(self) -> int | None:
        value = self.header(b"content-length")
        return int(value) if value and value.isdigit() else None

    def require_json(self) -> None:
        """415 for a body that declares itself something other than JSON (none declared is accepted)."""
        content_type = self.header(b"content-type")
        if content_type and b"json" not in content_type.lower():
            raise UnsupportedMediaType(
                f"Expected `Content-Type: application/json`, got `{content_type.decode('latin-1')}`."
            )

    def check_declared_length(self, limit: int) -> None:
        """413 before reading a body whose Content-Length already says it is larger than `limit`."""
        declared = self.content_length()
        if declared is not None and declared > limit:
            raise PayloadTooLarge(f"Request body of {declared} bytes exceeds the limit of {limit} bytes.")

    def posted_to(self, route: Route, path: str, body: BodySource, length: int,
                  error_event: ErrorEvent | None = None) -> UpstreamRequest:
        """This client request as a POST of `body` to `path` on an instance of `route`: the client's query and
        headers, and the served name put back in the answer when the route renames its model."""
        return UpstreamRequest(method="POST", path=path, query=self.query, client_headers=self.headers, body=body,
                               content_length=length, rename_to=route.name if route.renames_model else None,
                               error_event=error_event)

    async def read_json(self, limit: int) -> bytes:
        """The whole body of a JSON request: 415 for another declared type, 413 past `limit` (declared or
        read). The one way handlers read a JSON body; its decoding is theirs (`relay.body.decode_struct`)."""
        self.require_json()
        self.check_declared_length(limit)
        return await read_body(self.receive, limit)

    def require_multipart(self) -> str:
        content_type = (self.header(b"content-type") or b"").decode("latin-1")
        if not content_type.lower().startswith("multipart/form-data"):
            raise UnsupportedMediaType("Expected a `multipart/form-data` body.")
        return content_type


WATCH_AFTER = 0.05  # seconds: requests done sooner never get a watcher task


class _Watch:
    """Cancels `task` when the client hangs up; watching starts only for requests still running after
    `WATCH_AFTER` (a timer handle is much cheaper than a task, and most requests finish sooner)."""

    __slots__ = ("finished", "hung_up", "receive", "task", "watcher")

    def __init__(self, task: asyncio.Task[Any], receive: Receive) -> None:
        self.task = task
        self.receive = receive
        self.finished = False
        self.hung_up = False
        self.watcher: asyncio.Task[None] | None = None

    def start(self) -> None:
        if not self.finished:
            self.watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                if not self.finished:
                    self.hung_up = True
                    self.task.cancel(HUNG_UP)  # the exchange in flight ends as `client_gone` (relay.exchange)
                return


async def until_disconnect(receive: Receive, work: Awaitable[None]) -> None:
    """Run `work`, cancelling it if the client hangs up first, so upstream work stops with it; then
    `ClientGone` is raised (nothing can be answered).

    Call only once the request body has been read: from then on `receive()` only reports disconnects."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task(loop)  # given the loop: one running-loop check (a getpid call) fewer
    assert task is not None
    watch = _Watch(task, receive)
    timer = loop.call_later(WATCH_AFTER, watch.start)
    try:
        await work
    except asyncio.CancelledError:
        if not watch.hung_up:
            raise
        task.uncancel()
        raise ClientGone() from None  # the dispatcher records the request as `client_gone`
    finally:
        watch.finished = True
        timer.cancel()
        if watch.watcher is not None:
            watch.watcher.cancel()
