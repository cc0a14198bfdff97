"""Anthropic's `/v1/messages` and `/v1/messages/count_tokens`.

An instance that speaks the Messages API itself gets the bytes relayed, as on OpenAI routes. Any other
gets the request translated to chat completions (`translate.anthropic_openai`), and the answer, streamed
or not, translated back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from modelport.api.messages_translated import relay_translated_messages
from modelport.api.request import Request, until_disconnect
from modelport.api.responses import send_json
from modelport.errors import BadRequest, BadUpstreamResponse
from modelport.relay.body import decode_json, routing_fields, with_model
from modelport.relay.exchange import UpstreamRequest, upstream_error
from modelport.relay.sse import anthropic_error_event
from modelport.routing.router import Route
from modelport.translate.anthropic_openai import chat_request_from_messages, decode_messages_request
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
    await gw.relay.forward(route, upstream, send)


def token_count(answer: bytes) -> int:
    """The `count` of an instance's `/tokenize` answer; 502 for anything else."""
    try:
        count = orjson.loads(answer)["count"]
    except (orjson.JSONDecodeError, KeyError, TypeError, IndexError):
        raise BadUpstreamResponse("The instance's /tokenize answer was not understood.") from None
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise BadUpstreamResponse("The instance's /tokenize answer has no token count.")
    return count


async def count_tokens(gw: Gateway, request: Request, send: Send) -> None:
    """Counts with the deployment's own tokenizer, through the instance's `/tokenize` (built-in engines,
    vLLM, SGLang); says so plainly when the instance has none."""
    body, route = await _read(gw, request)
    data = decode_json(body)
    data.setdefault("max_tokens", 1)  # not part of a count request; the translator insists on it
    chat = chat_request_from_messages(data, upstream_model=route.upstream_model)
    payload: dict[str, Any] = {"model": route.upstream_model, "messages": chat["messages"]}
    if chat.get("tools"):
        payload["tools"] = chat["tools"]
    encoded = msgspec.json.encode(payload)  # free-form tool schemas may hold ints past 64 bits
    for from_root in route.capabilities.tokenize_from_root:
        upstream = UpstreamRequest(method="POST", path="/tokenize", query="", client_headers=[], body=encoded,
                                   content_length=len(encoded), from_root=from_root,
                                   extra_headers={b"content-type": b"application/json"})
        async with gw.relay.exchange(route, upstream) as exchange:
            if exchange.status == 404:
                continue
            data = await exchange.read()
        if exchange.status >= 400:
            raise upstream_error(exchange.status, data)
        await send_json(send, 200, {"input_tokens": token_count(data)})
        return
    raise BadRequest(f"`{route.name}` has no tokenizer endpoint (/tokenize), so its tokens can't be counted.",
                     code="count_tokens_unavailable")
