"""OpenAI's Responses API: `POST /v1/responses`, `GET` and `DELETE /v1/responses/{id}`, and
`GET /v1/responses/{id}/input_items`.

Our backends serve chat completions, so a request is translated to one (`translate.responses_openai`) and
the answer, streamed or not, translated back (`api/responses_translated.py`, the translator the table in
`api.translators` names for an OpenAI-speaking backend; a backend that speaks no chat is a clear 400).

With `store: true` (the default) the response and the conversation it ends are kept for
`responses_ttl_seconds`, for `GET`, `DELETE` and `previous_response_id`; only the key that made a
response sees it (any other gets a 404).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import orjson

from modelport.api.request import Request, until_disconnect
from modelport.api.responses import send_json
from modelport.api.responses_translated import Keep, ResponsesTurn
from modelport.api.translators import RESPONSES, translator_for
from modelport.errors import BadRequest, ModelportError, NotFound
from modelport.protocols.openai_responses import InputItem, ResponsesRequest
from modelport.store.responses import MAX_STORED_BYTES, StoredResponse
from modelport.translate.responses_openai import (
    Turn,
    chat_request_from_responses,
    conversation_items,
    decode_responses_request,
    input_items,
    input_items_page,
    items_from_json,
    new_turn,
    referenced_responses,
    resolve_references,
)
from modelport.types import Send

if TYPE_CHECKING:
    from modelport.gateway import Gateway

log = logging.getLogger(__name__)


async def create(gw: Gateway, request: Request, send: Send) -> None:
    """`POST /v1/responses`: parse → resolve → call → render."""
    decoded = decode_responses_request(await request.read_json(gw.settings.max_request_bytes))
    route = await gw.router.resolve_current(decoded.model, request.key)
    answer = translator_for(RESPONSES, route)
    history = await _history(gw, decoded.previous_response_id, _owner(request))
    if isinstance(decoded.input, list):
        decoded.input = await _resolve(gw, decoded.input, _owner(request))
    chat = chat_request_from_responses(decoded, history, upstream_model=route.upstream_model)
    turn = new_turn(decoded, route.name)
    keep = _keeper(gw, _owner(request), turn, decoded, history) if decoded.store else None
    await until_disconnect(request.receive, answer(gw, request, route, ResponsesTurn(chat, turn, keep), send))


async def stored(gw: Gateway, request: Request, send: Send) -> None:
    """`GET /v1/responses/{id}` (the response), `GET /v1/responses/{id}/input_items` (a page of its input
    items) and `DELETE /v1/responses/{id}`."""
    response_id, _, rest = request.path_params["id"].partition("/")
    now, owner = datetime.now(UTC), _owner(request)
    if rest not in ("", "input_items") or (rest and request.scope["method"] != "GET"):
        raise NotFound(f"Unknown route: {request.scope['method']} {request.scope['path']}", code="unknown_route")
    if request.scope["method"] == "DELETE":
        if not await asyncio.to_thread(gw.store.responses.delete, response_id, owner):
            raise _not_found(response_id)
        await send_json(send, 200, {"id": response_id, "object": "response", "deleted": True})
        return
    found = await asyncio.to_thread(gw.store.responses.get, response_id, owner, now)
    if found is None:
        raise _not_found(response_id)
    await send_json(send, 200, _input_items(found, request.query) if rest else found.response)


def _input_items(found: StoredResponse, query_string: str) -> dict[str, Any]:
    """The page of `found`'s input items that the query (`order`, `limit`, `after`) asks for."""
    query = parse_qs(query_string)
    limit = query.get("limit", ["20"])[0]
    if not limit.isdigit():
        raise BadRequest("limit: must be an integer", param="limit")
    inputs = found.conversation[:len(found.conversation) - len(found.response.get("output") or [])]
    return input_items_page(inputs, order=query.get("order", ["desc"])[0], limit=int(limit),
                            after=query.get("after", [None])[0])


def _owner(request: Request) -> str:
    assert request.key is not None  # the route needs the inference scope
    return request.key.id


def _not_found(response_id: str) -> NotFound:
    return NotFound(f"No response found with id '{response_id}'.", param="response_id")


async def _history(gw: Gateway, previous_id: str | None, owner: str) -> list[InputItem]:
    if previous_id is None:
        return []
    found = await asyncio.to_thread(gw.store.responses.get, previous_id, owner, datetime.now(UTC))
    if found is None:
        raise BadRequest(f"Previous response with id '{previous_id}' not found.", param="previous_response_id",
                         code="previous_response_not_found")
    return items_from_json(found.conversation)


async def _resolve(gw: Gateway, items: list[InputItem], owner: str) -> list[InputItem]:
    """The input with each `item_reference` replaced by the stored output item it names."""
    outputs: dict[str, list[Any]] = {}
    for response_id in referenced_responses(items):
        found = await asyncio.to_thread(gw.store.responses.get, response_id, owner, datetime.now(UTC))
        if found is not None:
            outputs[response_id] = found.response.get("output") or []
    return resolve_references(items, outputs)


def _keeper(gw: Gateway, owner: str, turn: Turn, request: ResponsesRequest, history: list[InputItem]) -> Keep:
    """Checks now that the conversation can be stored, and returns what stores the finished response."""
    items = conversation_items([*history, *input_items(request)])
    if len(orjson.dumps(items)) > MAX_STORED_BYTES:
        raise BadRequest(f"The conversation is over {MAX_STORED_BYTES} bytes, too large to store; send it with "
                         "`store: false`.", param="store")

    async def keep(response: dict[str, Any]) -> None:
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=gw.settings.responses_ttl_seconds)
        record = StoredResponse(id=turn.id, key_id=owner, response=response,
                                conversation=[*items, *response["output"]], created_at=now, expires_at=expires)
        try:
            await asyncio.to_thread(gw.store.responses.put, record, now)
        except ValueError as error:
            log.warning("not storing a response: %s", error)
        except Exception:
            log.exception("storing response %s failed", turn.id)
            raise ModelportError("The response could not be stored; see the gateway's log.") from None

    return keep
