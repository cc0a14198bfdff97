"""Relaying `/v1/messages` to an instance that speaks Anthropic's Messages API itself (vLLM, llama.cpp's
server, a deployment marked `speaks_anthropic`): the bytes go as they came, as on OpenAI routes, but for a
context overflow, which is put in Anthropic's words (vLLM's Messages endpoint keeps its own, and Claude Code
compacts only on Anthropic's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelport.api.request import Request
from modelport.relay.body import with_model
from modelport.relay.forward import stream_response
from modelport.relay.headers import downstream_headers
from modelport.relay.sse import anthropic_error_event
from modelport.routing.router import Route
from modelport.translate.context_overflow import MAX_ERROR_BYTES, overflow_from_error
from modelport.types import Send

if TYPE_CHECKING:
    from modelport.gateway import Gateway


async def relay_native_messages(gw: Gateway, request: Request, route: Route, body: bytes, send: Send) -> None:
    """Relay a Messages body to an instance of `route` and its answer back, renaming `model` both ways."""
    if route.renames_model:
        body = with_model(body, route.upstream_model)
    upstream = request.posted_to(route, "/messages", body, len(body), anthropic_error_event)
    async with gw.relay.exchange(route, upstream) as exchange:
        if exchange.status == 400 and _small(exchange.header(b"content-length")):
            answer = await exchange.read()
            overflow = overflow_from_error(400, answer)
            if overflow is not None:
                raise overflow.anthropic_error()
            headers = downstream_headers(exchange.response.headers if exchange.response else [])
            await send({"type": "http.response.start", "status": 400, "headers": headers})
            await send({"type": "http.response.body", "body": answer})
            return
        await stream_response(exchange, send)


def _small(length: bytes | None) -> bool:
    """A declared body length small enough to read an error answer whole before relaying it."""
    return length is not None and length.isdigit() and int(length) <= MAX_ERROR_BYTES
