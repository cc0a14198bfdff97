"""Server-sent events from the worker: framing, and sending a stream whose first event settles the status.

Every SSE answer of the worker (chat and completion streams, `stream=true` transcriptions, speech with
`stream_format: "sse"`) is framed here as `data: <json>\\n\\n`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing

import orjson
from aiohttp import web

log = logging.getLogger("modelport.worker")

SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
DONE = b"data: [DONE]\n\n"


def sse(obj: object) -> bytes:
    """One `data:` event carrying `obj` as JSON."""
    return b"data: " + orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n\n"


def error_event(exc: BaseException) -> bytes:
    """OpenAI's in-stream error event, for failures after the headers went out."""
    return sse({"error": {"message": str(exc), "type": "api_error", "param": None, "code": None}})


async def write_quietly(response: web.StreamResponse, data: bytes) -> None:
    """Write unless the client has already gone."""
    try:
        await response.write(data)
    except ConnectionResetError:
        pass


async def send_events(request: web.Request, events: AsyncGenerator[bytes, None], what: str) -> web.StreamResponse:
    """Send framed `events` as a `text/event-stream`.

    The first event is produced before the headers go out, so bad input found up to then is still a
    plain 4xx/5xx response; a failure after that becomes an error event that ends the stream.
    """
    async with aclosing(events):  # a client gone mid-stream closes them at once: the engine slot is freed
        first = await anext(events, None)
        response = web.StreamResponse(headers=SSE_HEADERS)
        await response.prepare(request)
        try:
            if first is not None:
                await response.write(first)
            async for data in events:
                await response.write(data)
        except ConnectionResetError:
            log.info("client went away mid-%s; the engine stopped", what)
        except Exception as exc:
            log.exception("%s stream failed", what)
            await write_quietly(response, error_event(exc))
        return response
