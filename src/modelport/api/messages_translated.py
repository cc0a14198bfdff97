"""Relaying through a translator: an Anthropic Messages request answered by an OpenAI chat instance.

The translation itself is pure (`translate.anthropic_openai`); this module only does the I/O: send the
chat request, read the answer or its event stream, and frame the translated events for the client.

An instance that fails is never passed off as an answer. Its error status keeps its status and message; an
answer that is not a chat completion (HTML, invalid JSON, the wrong shape), a stream that breaks off or ends
before it finished is a 502, a silent one a 504, all in Anthropic's error shape, as long as no byte went to
the client. The client's response starts with the first translated events (or the first `ping`), so a stream
broken from its first event still gets a status; after that, an `error` event ends the stream.

A streamed answer's `message_start` carries the input tokens, counted with the instance's `/tokenize`
(`messages_tokens`) while the instance starts on the answer (the first event waits `START_WAIT_SECONDS` at
most for the count), or else taken from the first usage the instance reports.

The deployment's timeouts hold on time, enforced by the exchange: `idle` (the longest wait for the instance's
next bytes; a slow client does not count) and `total` (from the request on, the wait for the response head
included), and so does the end of a drain (an `overloaded_error` event). While the instance is silent, the
client gets a `ping` every `ping_seconds`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from modelport.api.messages_tokens import start_count
from modelport.api.request import Request
from modelport.errors import (
    ModelportError,
)
from modelport.protocols.anthropic import MessagesRequest
from modelport.relay.exchange import Exchange, UpstreamRequest, upstream_error
from modelport.relay.forward import Relay
from modelport.relay.sse import SseReader
from modelport.routing.router import Route
from modelport.translate.anthropic_openai import (
    Event,
    MessagesStream,
    chat_completion_from_json,
    chat_request_from_messages,
    decode_messages_request,
    encode_event,
    messages_response_from_chat,
)
from modelport.translate.context_overflow import overflow_from_error
from modelport.types import Send

if TYPE_CHECKING:
    from modelport.gateway import Gateway

DRAIN_SECONDS = 1.0  # after [DONE], how long to wait for the end of the body (to keep the connection)
START_WAIT_SECONDS = 0.5  # how long message_start may wait for the input count still being made


async def translate_messages(gw: Gateway, request: Request, route: Route, body: bytes, send: Send) -> None:
    """Answer a Messages body through `route`'s OpenAI chat instances (`translate.anthropic_openai`)."""
    decoded = decode_messages_request(body)
    chat = chat_request_from_messages(decoded, upstream_model=route.upstream_model,
                                      supports_top_k=route.capabilities.top_k)
    await relay_translated_messages(gw.relay, route, request.headers, chat, decoded, send, gw.settings.ping_seconds)


async def relay_translated_messages(
    relay: Relay, route: Route, client_headers: list[tuple[bytes, bytes]], chat: dict[str, Any],
    request: MessagesRequest, send: Send, ping_seconds: float = 10.0,
) -> None:
    """Send `chat` to an instance of `route` and answer the client in Anthropic's format."""
    counting = asyncio.ensure_future(start_count(relay, route, chat)) if chat.get("stream") else None
    try:
        await _relay(relay, route, client_headers, chat, request, send, ping_seconds, counting)
    finally:
        if counting is not None:
            counting.cancel()


async def _relay(
    relay: Relay, route: Route, client_headers: list[tuple[bytes, bytes]], chat: dict[str, Any],
    request: MessagesRequest, send: Send, ping_seconds: float, counting: asyncio.Future[int] | None,
) -> None:
    body = msgspec.json.encode(chat)  # not orjson: free-form fields (tool schemas) may hold ints past 64 bits
    upstream = UpstreamRequest(method="POST", path="/chat/completions", query="", client_headers=client_headers,
                               body=body, content_length=len(body))
    async with relay.exchange(route, upstream) as exchange:
        if exchange.status >= 400:
            raise instance_error(exchange.status, await exchange.read())
        stop_sequences = request.stop_sequences or ()
        if chat.get("stream"):
            state = MessagesStream(model=route.name, stop_sequences=stop_sequences)
            await TranslatedStream(exchange, state, send, ping_seconds, counting).run()
            return
        answer = chat_completion_from_json(await exchange.read())
        payload = orjson.dumps(messages_response_from_chat(answer, model=route.name, stop_sequences=stop_sequences))
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


def instance_error(status: int, body: bytes) -> ModelportError:
    """An instance's error answer as ours; a context overflow in Anthropic's wording (Claude Code compacts)."""
    overflow = overflow_from_error(status, body)
    return upstream_error(status, body) if overflow is None else overflow.anthropic_error()


class TranslatedStream:
    """The I/O of one translated stream: read the instance's events, feed them to the state, frame its events.

    The client's response starts with the first events to send, so a failure before them is raised (and
    rendered with its status); a failure after them becomes the state's `error` event."""

    def __init__(self, exchange: Exchange, state: MessagesStream, send: Send, ping_seconds: float,
                 counting: asyncio.Future[int] | None = None) -> None:
        self._exchange = exchange
        self._counting = counting
        self._state = state
        self._send = send
        self._ping_seconds = ping_seconds
        self._loop = asyncio.get_running_loop()
        self._told = self._loop.time()  # when the client last got something: the next ping is due from then
        self.started = False

    async def run(self) -> None:
        """Relay the whole stream; raises only while nothing went to the client yet."""
        self._exchange.require_event_stream()
        try:
            await self._relay()
        except ModelportError as error:
            if not self.started:
                raise
            await self._events(self._state.fail(error.message, error_type=error.anthropic_type))
            await self._send({"type": "http.response.body", "body": b""})
            return
        await self._send({"type": "http.response.body", "body": b""})
        await self._drain()

    async def _relay(self) -> None:
        reader = SseReader()
        while not self._state.done:
            chunk = await self._exchange.next_chunk(wait=self._told + self._ping_seconds - self._loop.time())
            if self._counting is not None:
                await self._take_count()
            if chunk is None:
                await self._events([*self._state.start(), self._state.ping()])
                continue
            events: list[Event] = []
            try:
                for data in reader.feed(chunk) if chunk else reader.close():
                    events += self._state.feed_data(data)
                if not chunk:
                    events += self._state.finish()
            except ModelportError:
                if self.started:  # what came before the failure still goes out, then its error event
                    await self._events(events)
                raise
            await self._events(events)

    async def _take_count(self) -> None:
        """Put the input count in `message_start`, waiting `START_WAIT_SECONDS` at most for it."""
        counting, self._counting = self._counting, None
        assert counting is not None
        with contextlib.suppress(TimeoutError):
            self._state.count_input(await asyncio.wait_for(asyncio.shield(counting), START_WAIT_SECONDS))

    async def _events(self, events: list[Event]) -> None:
        if not events:
            return
        if not self.started:
            self.started = True
            await self._send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
        payload = b"".join(encode_event(name, data) for name, data in events)
        await self._send({"type": "http.response.body", "body": payload, "more_body": True})
        self._told = self._loop.time()

    async def _drain(self) -> None:
        """Read what follows [DONE] (the body's end, normally at once), so the connection can be reused."""
        with contextlib.suppress(TimeoutError, ModelportError):
            async with asyncio.timeout(DRAIN_SECONDS):
                while await self._exchange.next_chunk():
                    pass
