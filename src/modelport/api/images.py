"""Image generation and edits. With `response_format: url`, the gateway asks the instance for base64,
keeps the images itself and answers with its own unguessable, expiring URLs, which any client of the
gateway can reach (an instance's own URLs point at a loopback port)."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from modelport.api.inference import missing_model
from modelport.api.request import Request, until_disconnect
from modelport.api.responses import send_bytes
from modelport.errors import NotFound, UpstreamUnreachable
from modelport.multipart import spool_multipart
from modelport.relay.body import decode_struct, with_fields
from modelport.relay.exchange import UpstreamRequest
from modelport.relay.sse import openai_error_event, rename_model_in_json
from modelport.routing.router import Route
from modelport.types import Send

if TYPE_CHECKING:
    from modelport.gateway import Gateway

FILES_PREFIX = "/v1/images/files/"


class _ImageFields(msgspec.Struct):
    """What the gateway reads of an image generation body."""

    model: str | None = None
    response_format: Any = None


async def generations(gw: Gateway, request: Request, send: Send) -> None:
    raw = await request.read_json(gw.settings.max_request_bytes)
    fields = decode_struct(raw, _ImageFields)
    if not fields.model:
        raise missing_model()
    route = await gw.router.resolve_current(fields.model, request.key)
    wants_url = fields.response_format == "url"
    changes = ({"model": route.upstream_model} if route.renames_model else {}) | (
        {"response_format": "b64_json"} if wants_url else {})
    payload = with_fields(raw, changes) if changes else raw
    upstream = request.posted_to(route, "/images/generations", payload, len(payload), openai_error_event)
    await until_disconnect(request.receive, _answer(gw, request, route, upstream, wants_url, send))


async def edits(gw: Gateway, request: Request, send: Send) -> None:
    content_type = request.require_multipart()
    request.check_declared_length(gw.settings.max_request_bytes)
    settings = gw.settings
    body = await spool_multipart(request.receive, content_type, settings.max_request_bytes,
                                 settings.spool_memory_bytes)
    try:
        if not body.model:
            raise missing_model()
        route = await gw.router.resolve_current(body.model, request.key)
        wants_url = body.fields.get("response_format") == "url"
        changes = ({"model": route.upstream_model} if route.renames_model else {}) | (
            {"response_format": "b64_json"} if wants_url else {})
        if changes:
            changed = body.with_fields(changes)
            body.close()
            body = changed
        upstream = request.posted_to(route, "/images/edits", body.payload, body.size, openai_error_event)
        await until_disconnect(request.receive, _answer(gw, request, route, upstream, wants_url, send))
    finally:
        body.close()


async def _answer(gw: Gateway, request: Request, route: Route, upstream: UpstreamRequest, wants_url: bool,
                  send: Send) -> None:
    if not wants_url:
        await gw.relay.forward(route, upstream, send)
        return
    async with gw.relay.exchange(route, upstream) as exchange:
        data = await exchange.read()
    status = exchange.status
    if status < 400:
        data = await asyncio.to_thread(_to_urls, gw, request, data)
        if route.renames_model:
            data = rename_model_in_json(data, route.name)
    await send_bytes(send, status, data)


def _to_urls(gw: Gateway, request: Request, data: bytes) -> bytes:
    try:
        answer = orjson.loads(data)
        base = _public_base(request)
        for item in answer.get("data", []):
            image = base64.b64decode(item.pop("b64_json"), validate=True)
            item["url"] = base + FILES_PREFIX + gw.images.put(image)
    except (orjson.JSONDecodeError, KeyError, AttributeError, TypeError, binascii.Error):
        raise UpstreamUnreachable("The instance's image answer could not be read.") from None
    return orjson.dumps(answer)


def _public_base(request: Request) -> str:
    host = (request.header(b"x-forwarded-host") or request.header(b"host") or b"127.0.0.1").decode("latin-1")
    scheme = (request.header(b"x-forwarded-proto") or b"http").decode("latin-1")
    return f"{scheme}://{host}"


async def files(gw: Gateway, request: Request, send: Send) -> None:
    """A stored image; public, since its name is an unguessable 256-bit token that expires."""
    found = await asyncio.to_thread(gw.images.get, request.path_params["name"])
    if found is None:
        raise NotFound("No such image, or it has expired.")
    content, media_type = found
    await send_bytes(send, 200, content, content_type=media_type,
                     extra=[(b"cache-control", b"private, max-age=3600")])
