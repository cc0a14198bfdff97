"""`/v1/models` entries, with each model's context length where its instance says it.

An instance's own `/v1/models` tells its context: our workers and vLLM as `max_model_len`, others (LM
Studio, OpenRouter-style servers) as `context_length` or `max_context_length`. The card carries it under
both names clients read: `max_model_len` (vLLM's, what litellm and Open WebUI look for on vLLM) and
`context_length` (OpenRouter's, read by aider and other tools). Instances are asked at once, each for at most
`CARD_SECONDS`; one that doesn't answer in time, or with no such number, gets a card without it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from modelport.api.side_calls import unrecorded
from modelport.errors import ModelportError
from modelport.relay.exchange import UpstreamRequest
from modelport.relay.forward import Relay
from modelport.routing.router import Route

CARD_SECONDS = 2.0
MAX_MODELS_BYTES = 1 << 20  # an instance's model list larger than this is not read
_CONTEXT_FIELDS = ("max_model_len", "context_length", "max_context_length")


def model_card(route: Route, context: int | None = None) -> dict[str, object]:
    """One OpenAI model entry for `route` (as the client named it), with its context length when known."""
    card: dict[str, object] = {"id": route.requested_name, "object": "model", "created": route.created,
                               "owned_by": "modelport"}
    if context is not None:
        card["max_model_len"] = card["context_length"] = context
    return card


def context_from_models(answer: bytes, upstream_model: str) -> int | None:
    """The context length an instance's `/v1/models` answer gives `upstream_model` (or its only model)."""
    try:
        data = orjson.loads(answer).get("data")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    entries = [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []
    named = [e for e in entries if e.get("id") == upstream_model] or (entries if len(entries) == 1 else [])
    for entry in named[:1]:
        for name in _CONTEXT_FIELDS:
            value = entry.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
    return None


async def context_length(relay: Relay, route: Route) -> int | None:
    """`route`'s context length from its instance's `/v1/models`; None when it can't be had in time."""
    upstream = UpstreamRequest(method="GET", path="/models", query="", client_headers=[])
    try:
        with unrecorded():
            async with asyncio.timeout(CARD_SECONDS), relay.exchange(route, upstream) as exchange:
                if exchange.status != 200:
                    return None
                parts: list[bytes] = []
                while chunk := await exchange.next_chunk():
                    parts.append(chunk)
                    if sum(map(len, parts)) > MAX_MODELS_BYTES:
                        return None
    except (TimeoutError, ModelportError):
        return None
    return context_from_models(b"".join(parts), route.upstream_model)


async def model_cards(relay: Relay, routes: list[Route]) -> list[dict[str, Any]]:
    """Cards for `routes`, each deployment's instance asked once (aliases share its answer)."""
    names = list(dict.fromkeys(route.name for route in routes))
    first = {route.name: route for route in reversed(routes)}
    found = await asyncio.gather(*(context_length(relay, first[name]) for name in names))
    contexts = dict(zip(names, found, strict=True))
    return [model_card(route, contexts[route.name]) for route in routes]
