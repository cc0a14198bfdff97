"""OpenAI's Responses API: `POST /v1/responses`, `GET` and `DELETE /v1/responses/{id}`, and
`GET /v1/responses/{id}/input_items`.

Our backends serve chat completions, so a request is translated to one (`translate.responses_openai`) and
the answer, streamed or not, translated back. An instance that fails is never passed off as an answer: its
error keeps its status, an answer that can't be read is a 502, all in OpenAI's error shape while nothing
went to the client; after that a `response.failed` event ends the stream. While the instance is silent the
client gets an SSE comment every `ping_seconds`.

With `store: true` (the default) the response and the conversation it ends are kept for
`responses_ttl_seconds`, for `GET`, `DELETE` and `previous_response_id`; only the key that made a
response sees it (any other gets a 404).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import orjson

from modelport.api.request import Request, until_disconnect
from modelport.api.responses import send_json
from modelport.errors import BadRequest, ModelportError, NotFound, RateLimited
from modelport.protocols.openai_responses import InputItem, ResponsesRequest
from modelport.relay.exchange import Exchange, UpstreamRequest, upstream_error
from modelport.relay.sse import SseReader
from modelport.routing.router import Route
from modelport.store.responses import MAX_STORED_BYTES, StoredResponse
from modelport.translate.anthropic_openai.shapes import chat_completion_from_json
from modelport.translate.context_overflow import CODE as CONTEXT_LENGTH_EXCEEDED
from modelport.translate.context_overflow import overflow_from_error
from modelport.translate.responses_openai import (
    Event,
    ResponsesStream,
    Turn,
    chat_request_from_responses,
    conversation_items,
    decode_responses_request,
    encode_event,
    input_items,
    input_items_page,
    items_from_json,
    new_turn,
    referenced_responses,
    resolve_references,
    response_from_chat,
)
from modelport.types import Send

if TYPE_CHECKING:
    from modelport.gateway import Gateway

log = logging.getLogger(__name__)
Keep = Callable[[dict[str, Any]], Awaitable[None]]
PING = b": ping\n\n"
DRAIN_SECONDS = 1.0


async def create(gw: Gateway, request: Request, send: Send) -> None:
    """`POST /v1/responses`: parse → resolve → call → render."""
    decoded = decode_responses_request(await request.read_json(gw.settings.max_request_bytes))
    route = await gw.router.resolve_current(decoded.model, request.key)
    history = await _history(gw, decoded.previous_response_id, _owner(request))
    if isinstance(decoded.input, list):
        decoded.input = await _resolve(gw, decoded.input, _owner(request))
    chat = chat_request_from_responses(decoded, history, upstream_model=route.upstream_model)
    turn = new_turn(decoded, route.name)
    keep = _keeper(gw, _owner(request), turn, decoded, history) if decoded.store else None
    await until_disconnect(request.receive, _answer(gw, route, request.headers, chat, turn, keep, send))


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


async def _answer(gw: Gateway, route: Route, headers: list[tuple[bytes, bytes]], chat: dict[str, Any],
                  turn: Turn, keep: Keep | None, send: Send) -> None:
    body = orjson.dumps(chat)
    upstream = UpstreamRequest(method="POST", path="/chat/completions", query="", client_headers=headers,
                               body=body, content_length=len(body))
    async with gw.relay.exchange(route, upstream) as exchange:
        if exchange.status >= 400:
            await _instance_error(exchange.status, await exchange.read(), turn, bool(chat["stream"]), send)
            return
        if chat["stream"]:
            await ResponsesRelay(exchange, ResponsesStream(turn), send, keep, gw.settings.ping_seconds).run()
            return
        response = response_from_chat(chat_completion_from_json(await exchange.read()), turn)
    if keep is not None:
        await keep(response)
    await send_json(send, 200, response)


async def _instance_error(status: int, body: bytes, turn: Turn, stream: bool, send: Send) -> None:
    """Raise an instance's error answer as ours; a context overflow is OpenAI's `context_length_exceeded`, in
    a `response.failed` event when streamed (where the Codex CLI looks for it), else a 400."""
    overflow = overflow_from_error(status, body)
    if overflow is None:
        raise upstream_error(status, body)
    error = overflow.openai_error(param="input")
    if not stream:
        raise error
    events = ResponsesStream(turn).fail(error.message, code=CONTEXT_LENGTH_EXCEEDED)
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
    await send({"type": "http.response.body", "body": b"".join(encode_event(n, d) for n, d in events)})


class ResponsesRelay:
    """The I/O of one translated stream: read the instance's events, feed the state, frame its events.

    The client's response starts with the first events, so a failure before them is raised (and rendered
    with its status); a failure after them becomes `response.failed`."""

    def __init__(self, exchange: Exchange, state: ResponsesStream, send: Send, keep: Keep | None,
                 ping_seconds: float) -> None:
        self._exchange = exchange
        self._state = state
        self._send = send
        self._keep = keep
        self._ping_seconds = ping_seconds
        self.started = False

    async def run(self) -> None:
        """Relay the whole stream; raises only while nothing went to the client yet."""
        self._exchange.require_event_stream()
        events: list[Event] = []
        try:
            await self._relay(events)
        except ModelportError as error:
            if not self.started:
                raise
            code = "rate_limit_exceeded" if isinstance(error, RateLimited) else "server_error"
            await self._events(events + self._state.fail(error.message, code=code))
            await self._send({"type": "http.response.body", "body": b""})
            return
        await self._send({"type": "http.response.body", "body": b""})
        with contextlib.suppress(TimeoutError, ModelportError):  # keep the connection: read past [DONE]
            async with asyncio.timeout(DRAIN_SECONDS):
                while await self._exchange.next_chunk():
                    pass

    async def _relay(self, events: list[Event]) -> None:
        """Feed the state until it is done; `events` holds what is not yet sent (for a failure's sake)."""
        reader = SseReader()
        while not self._state.done:
            chunk = await self._exchange.next_chunk(wait=self._ping_seconds)
            if chunk is None:
                await self._events(self._state.start(), ping=True)
                continue
            for data in reader.feed(chunk) if chunk else reader.close():
                events += self._state.feed_data(data)
            if not chunk:
                events += self._state.finish()
            if self._state.final is not None and self._keep is not None:
                await self._keep(self._state.final)
            await self._events(events)
            events.clear()

    async def _events(self, events: list[Event], *, ping: bool = False) -> None:
        if not events and not ping:
            return
        if not self.started:
            self.started = True
            await self._send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
        payload = b"".join(encode_event(name, data) for name, data in events) + (PING if ping else b"")
        await self._send({"type": "http.response.body", "body": payload, "more_body": True})
