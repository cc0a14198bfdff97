"""The generic proxy: `ANY /model/proxy/{path}` and `ANY /model/proxy/{deployment}/{path}`.

Any API an instance serves beyond the OpenAI surface (TEI's `/embed`, vLLM's `/tokenize`, `/pooling`,
`/score`, ...) reaches it here, for deployments that enable `generic_proxy` (403 otherwise).

Which deployment, and which upstream path (`tail` is everything after `/model/proxy/`):

1. The `X-GPUStack-Model` header, when sent, names the deployment; the whole tail is the path. A JSON body
   is then read (bounded by `max_request_bytes`) only to check its `model`: when it names a different
   deployment, 400. Any other body is streamed upstream unread.
2. Without the header, when the tail's leading segments name a deployment (longest match first, since
   names may hold `/`), that is the deployment and the rest of the tail is the path; the body is streamed
   upstream unread, whatever its type.
3. Otherwise the JSON body's `model` names the deployment (the body is read, bounded) and the whole tail is
   the path. No model anywhere: 400.

The request goes to `/{path}` from the instance's root (not its `/v1` base) with the client's method,
query string, headers (minus hop-by-hop ones and the client's key: the instance gets its own credentials)
and body; the answer streams back as it arrives, status and headers included.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import msgspec

from modelport.api.request import Request, until_disconnect
from modelport.errors import (
    BadRequest,
    MissingModel,
    ModelportError,
    PermissionDenied,
    UpstreamUnreachable,
)
from modelport.relay.body import ClientGone, body_chunks, read_body, with_model
from modelport.relay.exchange import UpstreamRequest
from modelport.routing.router import Route
from modelport.types import Receive, Send

if TYPE_CHECKING:
    from modelport.gateway import Gateway

MODEL_HEADER = b"x-gpustack-model"
PREFIX = "/model/proxy/"
_PREFIX_BYTES = PREFIX.encode()
_PATH_SAFE = "/!$&'()*+,;=:@-._~"  # RFC 3986 pchar, which needs no escape in a path
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]*")


class _ModelField(msgspec.Struct):
    model: Any = None


def body_model(body: bytes) -> str | None:
    """The `model` string of a JSON object body; None for anything else (the proxy doesn't judge bodies)."""
    try:
        model = msgspec.json.decode(body, type=_ModelField).model
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    return model if isinstance(model, str) and model else None


def split_deployment(segments: list[str], routes: Mapping[str, Any]) -> tuple[str, int] | None:
    """(deployment, how many leading segments name it) when the tail's leading segments name a deployment,
    longest name first (names may hold `/`). `segments` are decoded, one per segment of the raw path."""
    for cut in range(len(segments), 0, -1):
        name = "/".join(segments[:cut])
        if name in routes:
            return name, cut
    return None


def raw_segments(scope: dict[str, Any]) -> list[str]:
    """The path after `/model/proxy/`, split into segments exactly as the client encoded them.

    The upstream request target is built only from these raw bytes, never from the percent-decoded path:
    decoding `%0d%0a` into a real CR LF would let a client write headers, or a whole second request, onto
    the instance's connection (request smuggling)."""
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw.startswith(_PREFIX_BYTES):
        text = raw[len(_PREFIX_BYTES):].decode("latin-1")
    else:  # a server that gives no raw path: encode the decoded one again
        text = quote(scope["path"][len(PREFIX):], safe=_PATH_SAFE)
    return text.split("/")


def check_target(path: str, query: str) -> None:
    """400 for an upstream target with anything but visible ASCII: no CTL bytes, spaces or 8-bit bytes."""
    if not _VISIBLE_ASCII.fullmatch(path) or not _VISIBLE_ASCII.fullmatch(query):
        raise BadRequest("The proxied path and query may hold only visible ASCII characters; percent-encode "
                         "anything else.", code="invalid_path")


class StreamedBody:
    """The client's request body as a payload factory for the relay: chunks go upstream as they arrive.

    A second call (the relay retrying another instance) gets a fresh stream if nothing was read yet;
    once chunks have gone, the body can't be replayed and the retry fails."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self._limit = limit
        self._read_any = False
        self.done = asyncio.Event()
        self.failure: ModelportError | ClientGone | None = None

    def __call__(self) -> AsyncIterator[bytes]:
        if self._read_any:
            raise UpstreamUnreachable("The instance dropped the connection while the request body was being "
                                      "sent; a streamed body can't be sent again.")
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        self._read_any = True
        try:
            async for chunk in body_chunks(self._receive, self._limit):
                yield chunk
        except (ClientGone, ModelportError) as failure:
            self.failure = failure
            raise
        self.done.set()

    async def receive_after(self) -> dict[str, Any]:
        """`receive()` once the body is through, for the disconnect watcher."""
        await self.done.wait()
        return await self._receive()


def _has_body(request: Request) -> bool:
    length = request.content_length()
    return bool(length) or request.header(b"transfer-encoding") is not None


def _is_json(request: Request) -> bool:
    return b"json" in (request.header(b"content-type") or b"").lower()


async def _read_json(gw: Gateway, request: Request) -> bytes:
    return await read_body(request.receive, gw.settings.max_request_bytes)


async def _target(gw: Gateway, request: Request) -> tuple[str, str, bytes | None]:
    """(deployment, upstream path without its leading slash, body when it had to be read). The path is the
    client's raw encoding; only the deployment name is matched on decoded segments."""
    segments = raw_segments(request.scope)
    named = request.header(MODEL_HEADER)
    if named:
        model = named.decode("latin-1").strip()
        body = await _read_json(gw, request) if _is_json(request) and _has_body(request) else None
        given = body_model(body) if body is not None else None
        if given is not None and given != model:
            raise BadRequest(f"The X-GPUStack-Model header names `{model}` but the body's `model` is "
                             f"`{given}`; send one, or the same in both.", param="model", code="model_mismatch")
        return model, "/".join(segments), body
    split = split_deployment([unquote(segment) for segment in segments], gw.router.routes)
    if split is not None:
        return split[0], "/".join(segments[split[1]:]), None
    body = await _read_json(gw, request) if _is_json(request) and _has_body(request) else None
    from_body = body_model(body) if body is not None else None
    if from_body is None:
        raise MissingModel("Name the model: the X-GPUStack-Model header, the JSON body's `model`, or "
                           "/model/proxy/{deployment}/{path}.", param="model")
    return from_body, "/".join(segments), body


def _check_enabled(route: Route) -> None:
    if not route.spec.generic_proxy:
        raise PermissionDenied(f"The generic proxy is not enabled for `{route.name}`; deploy it with "
                               "`--generic-proxy` (or `generic_proxy: true`).", code="generic_proxy_disabled")


async def proxy(gw: Gateway, request: Request, send: Send) -> None:
    """ANY /model/proxy/...: the request as it came, to `/{path}` at an instance's root."""
    request.check_declared_length(gw.settings.max_request_bytes)
    model, path, body = await _target(gw, request)
    check_target(path, request.query)
    route = await gw.router.resolve_current(model, request.key)
    _check_enabled(route)
    headers = [(name, value) for name, value in request.headers if name != MODEL_HEADER]
    if body is not None and route.renames_model and body_model(body) is not None:
        body = with_model(body, route.upstream_model)  # a body streamed unread keeps the client's `model`
    streamed = StreamedBody(request.receive, gw.settings.max_request_bytes) if body is None else None
    payload: Any = body if body is not None else (streamed if _has_body(request) else None)
    upstream = UpstreamRequest(
        method=request.scope["method"], path="/" + path, query=request.query, client_headers=headers,
        body=payload, content_length=len(body) if body is not None else request.content_length(),
        from_root=True,
    )
    if streamed is None or payload is None:
        await until_disconnect(request.receive, gw.relay.forward(route, upstream, send))
        return
    try:
        await until_disconnect(streamed.receive_after, gw.relay.forward(route, upstream, send))
    except UpstreamUnreachable:
        if streamed.failure is not None:  # the client's body, not the instance, broke the upload
            raise streamed.failure from None
        raise
