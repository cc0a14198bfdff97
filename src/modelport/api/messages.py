"""Anthropic's `/v1/messages` and `/v1/messages/count_tokens`.

The translator table (`api.translators`) picks by what the deployment's backend speaks: an instance that
speaks the Messages API itself gets the bytes relayed (`api/messages_native.py`); an OpenAI chat instance
gets the request translated to chat completions (`translate.anthropic_openai`) and the answer, streamed or
not, translated back (`api/messages_translated.py`). A count is made with the instance's `/tokenize` on the
translated chat request (`api/messages_tokens.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelport.api.request import Request, until_disconnect
from modelport.api.translators import COUNT_TOKENS, MESSAGES, translator_for
from modelport.errors import BadRequest
from modelport.relay.body import routing_fields
from modelport.routing.router import Route
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
    translator = translator_for(MESSAGES, route)
    await until_disconnect(request.receive, translator(gw, request, route, body, send))


async def count_tokens(gw: Gateway, request: Request, send: Send) -> None:
    """Counts with the deployment's own tokenizer, through the instance's `/tokenize` (built-in engines,
    vLLM, SGLang); says so plainly when the instance has none."""
    body, route = await _read(gw, request)
    count = translator_for(COUNT_TOKENS, route)
    await count(gw, request, route, body, send)
