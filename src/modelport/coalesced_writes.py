"""`CoalescingTransport`: a response's head leaves in one `write()` with what follows it in the same turn
of the event loop, so in one `send()` system call and one TCP segment where it fits.

uvicorn writes a response's head and its body in two calls; a relayed answer that arrived whole (most
non-streamed ones) is sent in the same turn, so the two become one. On loopback a send costs more than the
Python around it: the kernel's TCP path, and a wake-up of the reader for each segment. A head with nothing
after it in its turn (a stream's, before its first event) goes out at the end of the turn.

Every write on the connection goes through the one wrapper (the listener's refusals, uvicorn's own answers,
each request's cycle), so their order is kept; `close()` sends what is held first, `abort()` drops it as
the transport's own buffer is dropped.
"""

from __future__ import annotations

import asyncio
from typing import Any

HEAD_START = b"HTTP/1.1 "  # how every response head this server writes begins


class CoalescingTransport:
    """Wraps a connection's transport: a response head is held until the next write or the end of the
    current loop turn, whichever comes first. Everything else is the transport's own."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.writelines((held, data))  # one vectored send on uvloop, the body not copied
        elif data[:9] == HEAD_START:
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        """Write what is held now (a no-op when nothing is, or the connection is closing)."""
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
