"""Chunked and server-sent-event responses that honour the stream controls."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from modelport.testing.faults import stall_forever, stream_event
from modelport.testing.wire import Controls, StreamDropped

DEFAULT_CHUNKS = 8


class ChunkWriter:
    """Writes a streamed response one chunk at a time.

    Honours ``x-fake-chunk-delay-ms`` (a pause before every chunk but the first), ``x-fake-drop-after``
    (after that many chunks the transport is aborted and :class:`StreamDropped` raised) and the stream faults
    of ``x-fake-fault`` (see ``testing.faults``; its bad events only in event streams).
    """

    def __init__(self, request: web.Request, controls: Controls, content_type: str) -> None:
        self._request = request
        self._delay = controls.chunk_delay_ms / 1000
        self._drop_after = controls.drop_after
        self._fault = controls.fault
        self._fault_after = controls.fault_after
        self._is_sse = content_type.startswith("text/event-stream")
        self.sent = 0
        self.response = web.StreamResponse(headers={"Content-Type": content_type, "Cache-Control": "no-cache"})

    async def open(self) -> ChunkWriter:
        """Send the response headers."""
        await self.response.prepare(self._request)
        return self

    async def send(self, data: bytes) -> None:
        """Send one chunk (after the configured pause), or drop the connection when its time has come."""
        if self._drop_after is not None and self.sent >= self._drop_after:
            self.drop()
        if self._delay and self.sent:
            await asyncio.sleep(self._delay)
        if self._fault is not None and self.sent == self._fault_after:
            await self._spoil()
        await self.response.write(data)
        self.sent += 1

    async def _spoil(self) -> None:
        fault, self._fault = self._fault, None
        if fault == "cut":
            await self.response.write_eof()
            raise StreamDropped(self.response)
        if fault == "stall":
            await stall_forever()
        event = stream_event(fault or "")
        if event is not None and self._is_sse:
            await self.response.write(event)

    def drop(self) -> None:
        """Abort the connection abruptly, like a crashed engine, and stop the handler."""
        transport = self._request.transport
        if transport is not None:
            transport.abort()
        raise StreamDropped(self.response)

    async def finish(self) -> web.StreamResponse:
        """End the body (the terminating zero-length chunk) and hand back the response."""
        await self.response.write_eof()
        return self.response


def sse(payload: Any, event: str | None = None) -> bytes:
    """One server-sent event carrying ``payload`` as JSON (bytes are sent as they are)."""
    data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    if event is None:
        return b"data: " + data + b"\n\n"
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


DONE = b"data: [DONE]\n\n"


def split_text(text: str, pieces: int) -> list[str]:
    """Split ``text`` into exactly ``pieces`` consecutive parts (some empty when the text is short)."""
    pieces = max(1, pieces)
    size = len(text)
    return [text[i * size // pieces:(i + 1) * size // pieces] for i in range(pieces)]


def content_pieces(text: str, controls: Controls) -> list[str]:
    """The content deltas of a stream: ``x-fake-chunks`` pieces, else up to 8 non-empty ones."""
    if controls.chunks is not None:
        return split_text(text, controls.chunks)
    return split_text(text, min(DEFAULT_CHUNKS, max(1, len(text))))
