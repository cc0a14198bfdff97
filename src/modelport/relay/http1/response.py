"""An upstream response: its head, and its body as it arrives (buffered by the connection)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from modelport.relay.http1.errors import UpstreamError

HIGH_WATER = 1 << 20  # pause reading the socket once this much body waits unread


class _Reader(Protocol):
    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    def drop(self) -> None: ...


class Response:
    """Status, headers (lowercase names, as sent), and the body through `readany()` / `read()`.

    The body may already be complete when the head is returned (`is_eof()`); otherwise it fills as the
    connection reads. `close()` before the end drops the connection, which tells the instance to stop."""

    __slots__ = (
        "_chunks",
        "_eof",
        "_error",
        "_new_future",
        "_paused",
        "_reader",
        "_size",
        "_waiter",
        "headers",
        "status",
    )

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], reader: _Reader,
                 new_future: Callable[[], asyncio.Future[None]]) -> None:
        self.status = status
        self.headers = headers
        self._chunks: list[bytes] = []
        self._size = 0
        self._eof = False
        self._error: UpstreamError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._reader: _Reader | None = reader
        self._paused = False
        self._new_future = new_future

    def header(self, name: bytes) -> bytes | None:
        """The first value of header `name` (lowercase bytes), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of header `name`, any case, as text."""
        value = self.header(name.lower().encode("latin-1"))
        return default if value is None else value.decode("latin-1")

    @property
    def content_length(self) -> int | None:
        value = self.header(b"content-length")
        return int(value) if value is not None and value.isdigit() else None

    # -- fed by the connection ------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        if self._size > HIGH_WATER and not self._paused and self._reader is not None:
            self._paused = True
            self._reader.pause_reading()
        self._wake()

    def finish(self) -> None:
        """The whole body is here; the connection is no longer this response's."""
        self._eof = True
        self._detach()
        self._wake()

    def fail(self, error: UpstreamError) -> None:
        if not self._eof:
            self._error = error
        self._detach()
        self._wake()

    def _detach(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and self._paused:
            self._paused = False
            reader.resume_reading()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- read by the relay ----------------------------------------------------------------------------

    def is_eof(self) -> bool:
        """True once the whole body has arrived (it may still be buffered, see `read_nowait`)."""
        return self._eof

    def read_nowait(self) -> bytes:
        """Whatever body is buffered, without waiting."""
        chunks = self._chunks
        if not chunks:
            return b""
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._size = 0
        if self._paused and self._reader is not None:
            self._paused = False
            self._reader.resume_reading()
        return data

    async def readany(self) -> bytes:
        """The next piece of body as it arrives (all that is buffered), b"" at the end."""
        while not self._chunks:
            if self._eof:
                return b""
            if self._error is not None:
                raise self._error
            self._waiter = self._new_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self.read_nowait()

    async def read(self) -> bytes:
        """The whole body."""
        parts = []
        while chunk := await self.readany():
            parts.append(chunk)
        return b"".join(parts)

    def close(self) -> None:
        """Done with the response: an unfinished one drops its connection (the instance sees it go)."""
        reader, self._reader = self._reader, None
        if reader is not None and not self._eof:
            reader.drop()
        self._chunks.clear()

    release = close
