"""Faults on purpose (``x-fake-fault: KIND``): answers that look like an upstream gone wrong, with status 200.

- ``html``: a ``text/html`` error page instead of any answer, streamed or not (a proxy in the way);
- ``invalid-json``: a JSON answer cut in half (still ``application/json``); an event stream gets a
  ``data: {"id": "broken`` event after N chunks, then goes on as usual;
- ``wrong-shape``: every top-level list of a JSON answer (``choices``, ``data``...) becomes ``"nope"``; an
  event stream gets ``data: {"choices":"nope"}`` after N chunks, then goes on;
- ``missing-fields``: the top-level lists of a JSON answer are left out (a chat completion without ``choices``);
- ``cut``: an event stream ends cleanly after N chunks (no finish chunk, no ``[DONE]``); a JSON answer ends
  cleanly after half its bytes;
- ``stall``: an event stream goes silent after N chunks, a JSON answer after its headers, until the client
  leaves.

N is ``x-fake-fault-after`` (default 2: for a chat stream, the role chunk and the first content chunk).
Error answers (``x-fake-status``, a bad request) are never spoiled. Unknown kinds are ignored.
"""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

FAULTS = frozenset({"html", "invalid-json", "wrong-shape", "missing-fields", "cut", "stall"})
DEFAULT_FAULT_AFTER = 2
HTML_PAGE = (b"<html><head><title>502 Bad Gateway</title></head>\n"
             b"<body><center><h1>502 Bad Gateway</h1></center></body></html>\n")
BROKEN_EVENT = b'data: {"id": "broken\n\n'
WRONG_SHAPE_EVENT = b'data: {"choices":"nope"}\n\n'
_EVENTS = {"invalid-json": BROKEN_EVENT, "wrong-shape": WRONG_SHAPE_EVENT}


def parse_fault(value: str | None) -> str | None:
    """The fault kind named by a header value, or None (absent or unknown)."""
    if value is None:
        return None
    kind = value.strip().lower()
    return kind if kind in FAULTS else None


def html_page() -> web.Response:
    """The ``html`` fault: what a reverse proxy answers when its backend is gone, but with status 200."""
    return web.Response(body=HTML_PAGE, status=200, headers={"Content-Type": "text/html"})


def stream_event(fault: str) -> bytes | None:
    """The bad event an event stream carries for ``fault``, or None when the fault is not one event."""
    return _EVENTS.get(fault)


async def stall_forever() -> None:
    """Go silent until the client leaves (the handler is then cancelled)."""
    await asyncio.Event().wait()


async def spoil_json(request: web.Request, response: web.Response, fault: str) -> web.StreamResponse:
    """A whole JSON answer spoiled by ``fault``; ``response`` is returned as it is for faults of streams."""
    body = response.body if isinstance(response.body, bytes) else b""
    if fault in ("invalid-json", "cut"):
        return _json(body[: len(body) // 2], response.status)
    if fault in ("wrong-shape", "missing-fields"):
        return _json(_reshaped(body, keep=fault == "wrong-shape"), response.status)
    if fault == "stall":
        stalled = web.StreamResponse(status=response.status, headers={
            "Content-Type": "application/json", "Content-Length": str(len(body))})
        await stalled.prepare(request)
        await stall_forever()
    return response


def _reshaped(body: bytes, *, keep: bool) -> bytes:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if not isinstance(data, dict):
        return b'"nope"'
    if keep:
        return orjson.dumps({key: "nope" if isinstance(value, list) else value for key, value in data.items()})
    return orjson.dumps({key: value for key, value in data.items() if not isinstance(value, list)})


def _json(body: bytes, status: int) -> web.Response:
    return web.Response(body=body, status=status, headers={"Content-Type": "application/json"})
