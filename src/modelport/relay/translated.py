"""Relaying through a translator: an Anthropic Messages request answered by an OpenAI chat instance.

The translation itself is pure (`translate.anthropic_openai`); this module only does the I/O: send the
chat request, read the answer or its event stream, and frame the translated events for the client.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from modelport.errors import (
    AuthenticationFailed,
    BadRequest,
    ModelportError,
    NoReadyInstance,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from modelport.protocols.anthropic import MessagesRequest
from modelport.relay.http1 import Response, UpstreamError
from modelport.relay.proxy import Relay, Send, UpstreamRequest
from modelport.relay.sse import SseReader
from modelport.routing.router import Route
from modelport.translate.anthropic_openai import MessagesStream, encode_event, messages_response_from_chat

_BY_STATUS: dict[int, type[ModelportError]] = {
    400: BadRequest, 401: AuthenticationFailed, 403: PermissionDenied, 404: NotFound, 413: PayloadTooLarge,
    422: BadRequest, 429: RateLimited, 503: NoReadyInstance, 504: UpstreamTimeout,
}


def upstream_error(status: int, body: bytes) -> ModelportError:
    """An instance's error answer as one of ours, keeping its status and message."""
    try:
        error = orjson.loads(body).get("error", {})
        message = error.get("message") if isinstance(error, dict) else str(error)
    except (orjson.JSONDecodeError, AttributeError):
        message = None
    result = _BY_STATUS.get(status, ModelportError)(message or f"The instance answered HTTP {status}.")
    result.status = status
    return result


async def relay_translated_messages(
    relay: Relay, route: Route, client_headers: list[tuple[bytes, bytes]], chat: dict[str, Any],
    request: MessagesRequest, send: Send, ping_seconds: float = 10.0,
) -> None:
    """Send `chat` to an instance of `route` and answer the client in Anthropic's format. While the
    instance is silent mid-stream, a `ping` event goes out every `ping_seconds`."""
    body = orjson.dumps(chat)
    upstream = UpstreamRequest(method="POST", path="/chat/completions", query="", client_headers=client_headers,
                               body=body, content_length=len(body))
    response, instance = await relay.open(route, upstream)
    try:
        if response.status >= 400:
            raise upstream_error(response.status, await response.read())
        stop_sequences = request.stop_sequences or ()
        if chat.get("stream"):
            state = MessagesStream(model=route.name, stop_sequences=stop_sequences)
            await _translate_stream(response, state, send, route.spec.timeouts.idle, ping_seconds)
        else:
            async with asyncio.timeout(route.spec.timeouts.idle):
                data = orjson.loads(await response.read())
            message = messages_response_from_chat(data, model=route.name, stop_sequences=stop_sequences)
            payload = orjson.dumps(message)
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
            await send({"type": "http.response.body", "body": payload})
    except TimeoutError:
        raise UpstreamTimeout(f"The instance went silent for {route.spec.timeouts.idle:g} s.") from None
    except UpstreamError as exc:
        raise UpstreamUnreachable(f"The instance's response broke off: {exc}") from None
    finally:
        response.close()
        instance.outstanding -= 1


async def _translate_stream(
    response: Response, state: MessagesStream, send: Send, idle: float, ping_seconds: float
) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
    await _send_events(send, state.start())
    reader = SseReader()
    loop = asyncio.get_running_loop()
    silent_since = loop.time()
    try:
        while True:
            try:
                async with asyncio.timeout(ping_seconds):
                    chunk = await response.readany()
            except TimeoutError:
                if loop.time() - silent_since >= idle:
                    raise UpstreamTimeout(f"The instance went silent for {idle:g} s.") from None
                await _send_events(send, [state.ping()])
                continue
            silent_since = loop.time()
            events = reader.feed(chunk) if chunk else reader.close()
            for data in events:
                if data.strip() != b"[DONE]":
                    await _send_events(send, state.feed(orjson.loads(data)))
            if not chunk:
                break
        await _send_events(send, state.finish())
    except (ModelportError, UpstreamError, orjson.JSONDecodeError) as exc:
        message = exc.message if isinstance(exc, ModelportError) else f"The instance's stream broke off: {exc}"
        await _send_events(send, state.fail(message))
    await send({"type": "http.response.body", "body": b""})


async def _send_events(send: Send, events: list[tuple[str, dict[str, Any]]]) -> None:
    if events:
        payload = b"".join(encode_event(name, data) for name, data in events)
        await send({"type": "http.response.body", "body": payload, "more_body": True})
