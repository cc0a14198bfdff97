"""Counting a translated Messages request's input tokens with the deployment's own tokenizer.

The instance's `/tokenize` (built-in engines under /v1, vLLM and SGLang at the root) counts the chat request
the translation built: `count_tokens` answers with it, and a streamed translated message puts it in its
`message_start` (`input_tokens`), as Anthropic's does, when it comes back in time (`START_COUNT_SECONDS`
for the count; the final `message_delta` has the backend's count anyway).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from modelport.api.request import Request
from modelport.api.responses import send_json
from modelport.api.side_calls import unrecorded
from modelport.errors import BadRequest, BadUpstreamResponse, ModelportError
from modelport.relay.body import decode_json
from modelport.relay.exchange import UpstreamRequest, upstream_error
from modelport.relay.forward import Relay
from modelport.routing.router import Route
from modelport.translate.anthropic_openai import chat_request_from_messages
from modelport.types import Send

if TYPE_CHECKING:
    from modelport.gateway import Gateway

START_COUNT_SECONDS = 1.0


async def count_tokens_via_chat(gw: Gateway, request: Request, route: Route, body: bytes, send: Send) -> None:
    """Answer a `count_tokens` body with the count of the chat request it translates to."""
    data = decode_json(body)
    data.setdefault("max_tokens", 1)  # not part of a count request; the translator insists on it
    chat = chat_request_from_messages(data, upstream_model=route.upstream_model)
    await send_json(send, 200, {"input_tokens": await count_input_tokens(gw.relay, route, chat)})


def token_count(answer: bytes) -> int:
    """The `count` of an instance's `/tokenize` answer; 502 for anything else."""
    try:
        count = orjson.loads(answer)["count"]
    except (orjson.JSONDecodeError, KeyError, TypeError, IndexError):
        raise BadUpstreamResponse("The instance's /tokenize answer was not understood.") from None
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise BadUpstreamResponse("The instance's /tokenize answer has no token count.")
    return count


def tokenize_body(route: Route, chat: dict[str, Any]) -> bytes:
    """What `/tokenize` gets for a chat request: its messages and tools."""
    payload: dict[str, Any] = {"model": route.upstream_model, "messages": chat["messages"]}
    if chat.get("tools"):
        payload["tools"] = chat["tools"]
    return msgspec.json.encode(payload)  # free-form tool schemas may hold ints past 64 bits


async def count_input_tokens(relay: Relay, route: Route, chat: dict[str, Any]) -> int:
    """The input tokens of `chat` on `route`'s instance; a 400 when it has no `/tokenize`."""
    encoded = tokenize_body(route, chat)
    for from_root in route.capabilities.tokenize_from_root:
        upstream = UpstreamRequest(method="POST", path="/tokenize", query="", client_headers=[], body=encoded,
                                   content_length=len(encoded), from_root=from_root,
                                   extra_headers={b"content-type": b"application/json"})
        async with relay.exchange(route, upstream) as exchange:
            if exchange.status == 404:
                continue
            data = await exchange.read()
        if exchange.status >= 400:
            raise upstream_error(exchange.status, data)
        return token_count(data)
    raise BadRequest(f"`{route.name}` has no tokenizer endpoint (/tokenize), so its tokens can't be counted.",
                     code="count_tokens_unavailable")


async def start_count(relay: Relay, route: Route, chat: dict[str, Any]) -> int:
    """The count for `message_start`, 0 when it can't be had at once: where `/tokenize` is is not known (a
    URL that may not have one is not asked on every message), it fails, or it takes too long."""
    if len(route.capabilities.tokenize_from_root) != 1:
        return 0
    try:
        with unrecorded():
            async with asyncio.timeout(START_COUNT_SECONDS):
                return await count_input_tokens(relay, route, chat)
    except (TimeoutError, ModelportError):
        return 0
