"""The gateway's HTTP/1.1 listener: uvicorn's httptools protocol with the limits a public port needs.

uvicorn bounds none of these, so one client could stall or exhaust the gateway before any handler runs:

- a request head larger than `max_head_bytes` or with more than `max_headers` fields: 431;
- a head not complete `head_seconds` after the connection opened (or after its first byte, between
  keep-alive requests): 408, or a silent close for a connection that never sent a byte;
- a request body the client stops sending for `body_seconds` while the handler waits for it: 408 (or the
  connection is closed when the answer has begun); the handler sees a disconnect;
- an answer the client stops reading for `write_seconds`: the connection is dropped;
- more than `max_connections` open connections: 503 and close, at once.

What a loop turn writes to the connection leaves in one `send()` (`coalesced_writes`): a head and a body
that arrived whole go out together.

Errors go out in OpenAI's error shape, or Anthropic's for `/v1/messages` paths, like every other error.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from modelport.coalesced_writes import CoalescingTransport
from modelport.config import ListenerLimits
from modelport.errors import BadRequest, ModelportError, NoReadyInstance, RequestHeadTooLarge, RequestTimeout


def guarded_protocol(limits: ListenerLimits) -> type[GuardedHttpProtocol]:
    """The protocol class to hand uvicorn (`Config(http=...)`), bound to `limits`."""
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,), {"limits": limits})


class GuardedHttpProtocol(HttpToolsProtocol):
    """One client connection, with `limits` enforced.

    The head and body clocks are a loop time each, set as a head or body bytes begin; their timers are armed
    once per connection and, when they fire early, move themselves to the clock's deadline. So a request
    costs no timer of its own, and no Python frame between the parser and uvicorn's callbacks: a refusal
    inside the parser stops it by raising (`_Refused`)."""

    limits: ClassVar[ListenerLimits] = ListenerLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # waiting for (the rest of) a request head
        self._head_bytes = 0  # bytes received since the current head began
        self._head_began = 0.0  # loop time: the connection opened, or the current head's first bytes came
        self._body_expected = False  # a request body is still to come
        self._body_seen = 0.0  # loop time of the last bytes while a body is expected
        self._refused = False  # an error went out: ignore whatever else the client sends
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._write_timer: asyncio.TimerHandle | None = None

    # -- connection ---------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = CoalescingTransport(transport, self.loop)  # type: ignore[assignment]  # its writes
        if len(self.connections) > self.limits.max_connections:
            self._refuse(NoReadyInstance("Too many open connections to the gateway; retry shortly.",
                                         code="too_many_connections", retry_after=1))
            return
        self._head_began = self.loop.time()
        self._head_timer = self.loop.call_later(self.limits.head_seconds, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._unset_keepalive_if_required()
        if self._in_head:
            if self._head_bytes == 0:
                self._head_began = self.loop.time()
                if self._head_timer is None:
                    self._head_timer = self.loop.call_later(self.limits.head_seconds, self._head_timed_out)
            self._head_bytes += len(data)
        elif self._body_expected:
            self._body_seen = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # no WebSocket here: the request was already handed on as plain HTTP; ignore what follows
        except httptools.HttpParserError:  # also what a callback raised: a refusal of ours stops the parser
            if not self._refused:
                self._refuse(BadRequest("The request is not valid HTTP/1.1.", code="invalid_http"))
            return
        if self._in_head and self._head_bytes > self.limits.max_head_bytes and not self._refused:
            self._refuse(_head_too_large(self.limits))

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_timer is None:
            self._write_timer = self.loop.call_later(self.limits.write_seconds, self._write_stalled)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None

    # -- parser callbacks ---------------------------------------------------------------------------

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.limits.max_head_bytes or len(self.headers) > self.limits.max_headers:
            self._refuse(_head_too_large(self.limits))
            raise _Refused
        super().on_headers_complete()
        if self._expects_body():
            self._body_expected = True
            self._body_seen = self.loop.time()
            if self._body_timer is None:
                self._body_timer = self.loop.call_later(self.limits.body_seconds, self._body_timed_out)

    def on_message_complete(self) -> None:
        self._body_expected = False
        self._in_head = True  # what follows on this connection is the next request's head
        super().on_message_complete()

    # -- timers and refusals ------------------------------------------------------------------------

    def _expects_body(self) -> bool:
        for name, value in self.headers:
            if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
                return True
        return False

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._in_head or self._refused or self.transport.is_closing():
            return  # a request is being handled: the next head's first bytes arm the timer again
        if self._head_bytes == 0:  # no head begun: the next one's first bytes arm the timer again
            if self.cycle is None:
                self.transport.close()  # never a byte since it opened: close it as a keep-alive timeout would
            return  # between requests uvicorn's keep-alive timeout closes an idle connection
        left = self._head_began + self.limits.head_seconds - self.loop.time()
        if left > 0:  # armed for an earlier head: this one began later
            self._head_timer = self.loop.call_later(left, self._head_timed_out)
            return
        self._refuse(RequestTimeout(f"The request head did not arrive within {self.limits.head_seconds:g} s.",
                                    code="head_timeout"))

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if (not self._body_expected or self._refused or self.transport.is_closing() or self.cycle is None
                or self.cycle.response_complete):
            return  # no body awaited: the next one arms the timer again
        waited = self.loop.time() - self._body_seen
        if self.flow.read_paused or waited < self.limits.body_seconds:  # the handler, not the client, is slow
            remaining = self.limits.body_seconds - waited if not self.flow.read_paused else self.limits.body_seconds
            self._body_timer = self.loop.call_later(max(remaining, 0.01), self._body_timed_out)
            return
        cycle = self.cycle
        error = RequestTimeout(f"The request body stalled for {self.limits.body_seconds:g} s.", code="body_timeout")
        if cycle.response_started:
            self._refused = True
            self.transport.close()
        else:
            self._refuse(error)
        cycle.disconnected = True  # the handler's next receive() is an http.disconnect; its sends go nowhere
        cycle.message_event.set()

    def _write_stalled(self) -> None:
        self._write_timer = None
        if not self.transport.is_closing():
            self._refused = True
            self.transport.abort()  # the client stopped reading: drop it, the handler sees a disconnect

    def _refuse(self, error: ModelportError) -> None:
        """Answer `error` and close the connection; nothing else the client sends is read."""
        self._refused = True
        self._cancel_timers()
        anthropic = getattr(self, "url", b"").startswith(b"/v1/messages")
        body = error.anthropic_body() if anthropic else error.openai_body()
        head = [b"HTTP/1.1 %d %s\r\n" % (error.status, _REASONS.get(error.status, b"Error")),
                b"content-type: application/json\r\n", b"content-length: %d\r\n" % len(body), b"connection: close\r\n"]
        head.extend(b"%s: %s\r\n" % pair for pair in error.headers())
        self.transport.write(b"".join(head) + b"\r\n" + body)
        self.transport.close()

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer, self._write_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = self._write_timer = None


_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too Large",
            503: b"Service Unavailable"}


class _Refused(Exception):
    """Raised in a parser callback after a refusal went out: httptools stops parsing the connection."""


def _head_too_large(limits: ListenerLimits) -> RequestHeadTooLarge:
    return RequestHeadTooLarge(f"The request head exceeds {limits.max_head_bytes} bytes or "
                               f"{limits.max_headers} header fields.")
