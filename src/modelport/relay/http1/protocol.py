"""One upstream HTTP/1.1 connection: an asyncio protocol that writes requests and parses responses with
`httptools` (llhttp). One request at a time; the pool hands the connection out and takes it back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Callable
from typing import cast

import httptools

from modelport.relay.http1.errors import BrokenResponse, HeadTimeout, NotDelivered, ProtocolError, UpstreamError
from modelport.relay.http1.response import Response

Released = Callable[["Connection", bool], None]  # (connection, reusable)

MAX_RESPONSE_HEAD = 64 * 1024  # bytes of status line and headers an instance may send: a bigger one is a 502
MAX_RESPONSE_HEADERS = 256


class Connection(asyncio.Protocol):
    """A connection to one origin. `exchange()` sends a request and returns once the response head is in;
    the body keeps flowing into the `Response`. When the response completes with keep-alive, the
    connection goes back to its pool through `on_release`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_release: Released) -> None:
        self.loop = self._loop = loop
        self._on_release = on_release
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.requests = 0  # how many exchanges started on this connection
        self.idle_since = 0.0
        self._parser: httptools.HttpResponseParser | None = None
        self._head: asyncio.Future[Response] | None = None
        self._response: Response | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._is_head = False
        self._got_bytes = False
        self._head_bytes = 0  # bytes received while waiting for the response head
        self._writing = False
        self._framed = False  # the response declared its length (content-length or chunked)
        self._drain: asyncio.Future[None] | None = None
        self._write_paused = False

    # -- asyncio.Protocol -----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports aren't subclasses

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None:  # bytes nobody asked for: the connection can't be trusted any more
            self.drop()
            return
        self._got_bytes = True
        waiting_for_head = self._head is not None
        if waiting_for_head:
            self._head_bytes += len(data)
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ProtocolError("The instance switched protocols, which the gateway didn't ask for."))
        except httptools.HttpParserError as exc:
            cause = exc.__cause__ or exc.__context__
            self._fail(cause if isinstance(cause, ProtocolError) else
                       ProtocolError(f"The instance's answer was not valid HTTP: {exc}."))
        else:
            if waiting_for_head and self._head is not None and self._head_bytes > MAX_RESPONSE_HEAD:
                self._fail(_head_too_large())

    def eof_received(self) -> bool | None:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._parser = None
        if self._drain is not None and not self._drain.done():
            self._drain.set_exception(ConnectionResetError("connection lost"))
        head, self._head = self._head, None
        response, self._response = self._response, None
        reason = f": {exc}" if exc else ""
        if head is not None and not head.done():
            if self._got_bytes:
                head.set_exception(BrokenResponse(f"The instance closed the connection mid-answer{reason}."))
            else:
                head.set_exception(NotDelivered(f"The instance closed the connection before answering{reason}."))
        elif response is not None:
            if not self._framed and not self._is_head:
                response.finish()  # a body delimited by the end of the connection
            else:
                response.fail(BrokenResponse(f"The instance's response broke off{reason}."))
        self._on_release(self, False)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # -- what the response uses to control the socket --------------------------------------------------

    def pause_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def usable(self) -> bool:
        """Open, and not closing (the instance's FIN may have been seen before `connection_lost` runs)."""
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def drop(self) -> None:
        """Close the connection now (an unfinished response is abandoned)."""
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True

    # -- the exchange ---------------------------------------------------------------------------------

    async def exchange(self, head: bytes, body: bytes | AsyncIterable[bytes] | None, chunked: bool,
                       is_head: bool, deadline: float | None = None) -> Response:
        """Send one request (`head` already ends with the blank line) and wait for the response head, until
        `deadline` (loop time) at most: then `HeadTimeout`, and the connection is dropped. A timer handle, not
        a task cancellation: a streamed body being sent stops at its next piece (its wait for the client's
        next piece is bounded by the listener's body timeouts)."""
        assert self.transport is not None and self._parser is None
        self.requests += 1
        self._is_head = is_head
        self._got_bytes = False
        self._framed = False
        self._headers = []
        self._head_bytes = 0
        self._parser = httptools.HttpResponseParser(self)
        waiter: asyncio.Future[Response] = self._loop.create_future()
        self._head = waiter
        timer = None if deadline is None else self._loop.call_at(deadline, self._head_overdue, waiter)
        try:
            if body is None or isinstance(body, bytes):
                self.transport.write(head + body if body else head)
            else:
                await self._write_stream(head, body, chunked)
            return await waiter
        except BaseException:
            if not waiter.done():
                waiter.cancel()  # nobody will wait for it any more
            self.drop()
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def _head_overdue(self, waiter: asyncio.Future[Response]) -> None:
        if self._head is waiter and not waiter.done():
            self._fail(HeadTimeout("No response head by the deadline."))

    async def _write_stream(self, head: bytes, body: AsyncIterable[bytes], chunked: bool) -> None:
        transport = self.transport
        assert transport is not None
        self._writing = True
        try:
            transport.write(head)
            async for chunk in body:
                if self.closed:
                    raise ConnectionResetError("connection lost")
                if self._head is None:  # the instance answered early: the rest of the body isn't wanted
                    return
                if chunk:
                    transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
                if self._write_paused:
                    self._drain = self._loop.create_future()
                    await self._drain
            if chunked:
                transport.write(b"0\r\n\r\n")
        except ConnectionError as exc:
            if self._head is not None and not self._head.done():
                raise NotDelivered(f"The connection broke while the request was being sent: {exc}.") from None
        finally:
            self._writing = False
            self._drain = None

    def _fail(self, error: UpstreamError) -> None:
        head, self._head = self._head, None
        response, self._response = self._response, None
        if head is not None and not head.done():
            head.set_exception(error)
        elif response is not None:
            response.fail(error)
        self.drop()

    # -- httptools callbacks --------------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self._headers) < MAX_RESPONSE_HEADERS:
            self._headers.append((name.lower(), value))
        else:
            self._headers.append((b"", b"x" * MAX_RESPONSE_HEAD))  # marks the head as too large

    def on_headers_complete(self) -> None:
        parser = self._parser
        assert parser is not None
        status = parser.get_status_code()
        if sum(len(name) + len(value) + 4 for name, value in self._headers) > MAX_RESPONSE_HEAD:
            raise _head_too_large()  # httptools stops parsing; data_received fails the exchange with it
        if 100 <= status < 200:  # informational: wait for the real answer
            self._headers = []
            return
        for name, _ in self._headers:
            if name == b"content-length" or name == b"transfer-encoding":
                self._framed = True
        response = Response(status, self._headers, self, self._loop.create_future)
        head, self._head = self._head, None
        self._response = response
        if head is not None and not head.done():
            head.set_result(response)
        if self._is_head:  # no body follows, whatever the headers say
            self._complete(parser.should_keep_alive())

    def on_body(self, body: bytes) -> None:
        if self._response is not None:
            self._response.feed(body)

    def on_message_complete(self) -> None:
        parser = self._parser
        if self._response is None or parser is None:
            return  # an informational response, or a HEAD answer already complete
        self._complete(parser.should_keep_alive())

    def _complete(self, keep_alive: bool) -> None:
        response, self._response = self._response, None
        self._parser = None
        reusable = keep_alive and not self._writing and not self.closed
        if response is not None:
            response.finish()
        if not reusable:
            self.drop()
        self._on_release(self, reusable)


def _head_too_large() -> ProtocolError:
    return ProtocolError(f"The instance's response head exceeds {MAX_RESPONSE_HEAD} bytes or "
                         f"{MAX_RESPONSE_HEADERS} header fields.")
