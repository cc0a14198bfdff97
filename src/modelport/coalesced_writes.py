"""`CoalescingTransport`: what one turn of the event loop writes to a client connection leaves in one
`write()`, so in one `send()` system call and one TCP segment where it fits.

uvicorn writes a response's head and its body in two calls; a relayed answer that arrived whole (most
non-streamed ones) is sent in the same turn, so the two become one. On loopback a send costs more than the
Python around it: the kernel's TCP path, and a wake-up of the reader for each segment.

Every write on the connection goes through the one wrapper (the listener's refusals, uvicorn's own answers,
each request's cycle), so their order is kept; `close()` sends what is held first, `abort()` drops it as
the transport's own buffer is dropped.
"""

from __future__ import annotations

import asyncio
from typing import Any


class CoalescingTransport:
    """Wraps a connection's transport: writes are held until the end of the current loop turn and then
    written together. Everything else is the transport's own."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is None:
            self._held = [bytes(data)]
            self._loop.call_soon(self.flush)
        else:
            held.append(bytes(data))

    def flush(self) -> None:
        """Write what is held now (a no-op when nothing is, or the connection is closing)."""
        held, self._held = self._held, None
        if held and not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

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
