"""Anthropic's `/v1/messages` and `/v1/messages/count_tokens`.

An instance that speaks the Messages API itself gets the bytes relayed, as on OpenAI routes (but for a context
overflow, put in Anthropic's words: vLLM's Messages endpoint keeps its own). Any other
gets the request translated to chat completions (`translate.anthropic_openai`), and the answer, streamed
or not, translated back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelport.api.messages_tokens import count_input_tokens
from modelport.api.messages_translated import relay_translated_messages
from modelport.api.request import Request, until_disconnect
from modelport.api.responses import send_json
from modelport.errors import BadRequest
from modelport.relay.body import decode_json, routing_fields, with_model
from modelport.relay.exchange import UpstreamRequest
from modelport.relay.headers import downstream_headers
from modelport.relay.proxy import stream_response
from modelport.relay.sse import anthropic_error_event
from modelport.routing.router import Route
from modelport.translate.anthropic_openai import chat_request_from_messages, decode_messages_request
from modelport.translate.context_overflow import MAX_ERROR_BYTES, overflow_from_error
from modelport.types import Send

if TYPE_CHECKING:
    from modelport.gateway import Gateway


async def _read(gw: Gateway, request: Request) -> tuple[bytes, Route]:
    body = await request.read_json(gw.settings.max_request_bytes)
    model = routing_fields(body).model
    if not model:
        raise BadRequest("model: Field required", param="model")
    return body, await gw.router.resolve_current(model, request.key)


async def messages(gw: Gateway, request: Request, send: Send) -> None:
    body, route = await _read(gw, request)
    if route.capabilities.messages:
        await until_disconnect(request.receive, _relay_native(gw, request, route, body, send))
        return
    decoded = decode_messages_request(body)
    chat = chat_request_from_messages(decoded, upstream_model=route.upstream_model,
                                      supports_top_k=route.capabilities.top_k)
    work = relay_translated_messages(gw.relay, route, request.headers, chat, decoded, send,
                                     gw.settings.ping_seconds)
    await until_disconnect(request.receive, work)


async def _relay_native(gw: Gateway, request: Request, route: Route, body: bytes, send: Send) -> None:
    if route.renames_model:
        body = with_model(body, route.upstream_model)
    upstream = UpstreamRequest(
        method="POST", path="/messages", query=request.query, client_headers=request.headers, body=body,
        content_length=len(body), rename_to=route.name if route.renames_model else None,
        error_event=anthropic_error_event,
    )
    async with gw.relay.exchange(route, upstream) as exchange:
        if exchange.status == 400 and _small(exchange.header(b"content-length")):
            answer = await exchange.read()
            overflow = overflow_from_error(400, answer)
            if overflow is not None:  # vLLM's words; Claude Code compacts on Anthropic's
                raise overflow.anthropic_error()
            headers = downstream_headers(exchange.response.headers if exchange.response else [])
            await send({"type": "http.response.start", "status": 400, "headers": headers})
            await send({"type": "http.response.body", "body": answer})
            return
        await stream_response(exchange, send)


def _small(length: bytes | None) -> bool:
    """A declared body length small enough to read an error answer whole before relaying it."""
    return length is not None and length.isdigit() and int(length) <= MAX_ERROR_BYTES


async def count_tokens(gw: Gateway, request: Request, send: Send) -> None:
    """Counts with the deployment's own tokenizer, through the instance's `/tokenize` (built-in engines,
    vLLM, SGLang); says so plainly when the instance has none."""
    body, route = await _read(gw, request)
    data = decode_json(body)
    data.setdefault("max_tokens", 1)  # not part of a count request; the translator insists on it
    chat = chat_request_from_messages(data, upstream_model=route.upstream_model)
    await send_json(send, 200, {"input_tokens": await count_input_tokens(gw.relay, route, chat)})
