"""A Responses request answered by an instance's chat completions: the I/O of `translate.responses_openai`.

The handler (`api/openai_responses.py`) has translated the request (`chat`) and set up its `Turn`; this module
sends it, and translates the answer, streamed or not, back. An instance that fails is never passed off as an
answer: its error keeps its status, an answer that can't be read is a 502, all in OpenAI's error shape while
nothing went to the client; after that a `response.failed` event ends the stream. While the instance is
silent the client gets an SSE comment every `ping_seconds`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from modelport.api.request import Request
from modelport.api.responses import send_json
from modelport.errors import ModelportError, RateLimited
from modelport.relay.exchange import Exchange, UpstreamRequest, upstream_error
from modelport.relay.sse import SseReader
from modelport.routing.router import Route
from modelport.translate.anthropic_openai.shapes import chat_completion_from_json
from modelport.translate.context_overflow import CODE as CONTEXT_LENGTH_EXCEEDED
from modelport.translate.context_overflow import overflow_from_error
from modelport.translate.responses_openai import Event, ResponsesStream, Turn, encode_event, response_from_chat
from modelport.types import Send

if TYPE_CHECKING:
    from modelport.gateway import Gateway

Keep = Callable[[dict[str, Any]], Awaitable[None]]
PING = b": ping\n\n"
DRAIN_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class ResponsesTurn:
    """A Responses request as translated: the chat request, the turn it answers, and what stores the
    finished response (None with `store: false`)."""

    chat: dict[str, Any]
    turn: Turn
    keep: Keep | None


async def answer_responses_via_chat(gw: Gateway, request: Request, route: Route, call: ResponsesTurn,
                                    send: Send) -> None:
    """Send `call.chat` to an instance of `route` and answer the client in the Responses API's shape."""
    await _answer(gw, route, request.headers, call.chat, call.turn, call.keep, send)


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
