"""Small helpers to answer over raw ASGI."""

from __future__ import annotations

import orjson

from modelport.errors import ModelportError
from modelport.types import Send

JSON = b"application/json"


async def send_bytes(
    send: Send, status: int, body: bytes, content_type: bytes = JSON, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Send, status: int, data: object) -> None:
    await send_bytes(send, status, orjson.dumps(data))


async def send_error(send: Send, error: ModelportError, protocol: str) -> None:
    body = error.anthropic_body() if protocol == "anthropic" else error.openai_body()
    await send_bytes(send, error.status, body, extra=error.headers())
