"""THE route table, the public allowlist, and the dispatcher that applies auth and renders errors.

Auth is on for every route; only `PUBLIC` paths skip it. Inference routes need the `inference` scope, the
admin API (`/api/...`) needs `admin`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from modelport.api import health, images, inference, messages, metrics, openai_responses, proxy, rerank
from modelport.api.admission import admitted, is_limited
from modelport.api.request import Request
from modelport.api.responses import send_error
from modelport.auth.verifier import token_from_headers
from modelport.errors import MethodNotAllowed, ModelportError, NotFound
from modelport.records import KeyScope
from modelport.relay.body import ClientGone
from modelport.relay.headers import header
from modelport.types import Receive, Send
from modelport.usage.record import UsageRecord

if TYPE_CHECKING:
    from modelport.gateway import Gateway

log = logging.getLogger(__name__)

Handler = Callable[["Gateway", Request, Send], Awaitable[None]]
GET, POST = frozenset({"GET"}), frozenset({"POST"})
ANY = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Endpoint:
    handler: Handler
    methods: frozenset[str]
    scope: KeyScope | None  # None: public
    protocol: str = "openai"  # the shape of its errors: "openai" or "anthropic"


def _json(path: str) -> Endpoint:
    return Endpoint(partial(inference.relay_json, upstream_path=path), POST, KeyScope.INFERENCE)


def _multipart(path: str) -> Endpoint:
    return Endpoint(partial(inference.relay_multipart, upstream_path=path), POST, KeyScope.INFERENCE)


async def _admin(gw: Gateway, request: Request, send: Send) -> None:
    await gw.admin_app(request.scope, request.receive, send)  # type: ignore[arg-type]


PUBLIC = frozenset({"/healthz", "/readyz", "/metrics"})  # /metrics checks its own token (api/metrics.py)

EXACT: dict[str, Endpoint] = {
    "/healthz": Endpoint(health.healthz, GET, None),
    "/readyz": Endpoint(health.readyz, GET, None),
    "/metrics": Endpoint(metrics.metrics, GET, None),
    "/v1/models": Endpoint(inference.list_models, GET, KeyScope.INFERENCE),
    "/v1/completions": _json("/completions"),
    "/v1/chat/completions": _json("/chat/completions"),
    "/v1/embeddings": _json("/embeddings"),
    "/v1/images/generations": Endpoint(images.generations, POST, KeyScope.INFERENCE),
    "/v1/images/edits": Endpoint(images.edits, POST, KeyScope.INFERENCE),
    "/v1/audio/speech": _json("/audio/speech"),
    "/v1/audio/transcriptions": _multipart("/audio/transcriptions"),
    "/v1/audio/translations": _multipart("/audio/translations"),
    "/v1/rerank": Endpoint(rerank.jina_rerank, POST, KeyScope.INFERENCE),
    "/v2/rerank": Endpoint(rerank.cohere_rerank, POST, KeyScope.INFERENCE),
    "/v1/messages": Endpoint(messages.messages, POST, KeyScope.INFERENCE, "anthropic"),
    "/v1/messages/count_tokens": Endpoint(messages.count_tokens, POST, KeyScope.INFERENCE, "anthropic"),
    "/v1/responses": Endpoint(openai_responses.create, POST, KeyScope.INFERENCE),
}

# (prefix, endpoint, name of the path parameter holding the rest of the path)
PREFIXED: list[tuple[str, Endpoint, str]] = [
    ("/v1/models/", Endpoint(inference.get_model, GET, KeyScope.INFERENCE), "model"),
    (images.FILES_PREFIX, Endpoint(images.files, GET, None), "name"),  # public: unguessable, expiring names
    ("/v1/responses/", Endpoint(openai_responses.stored, frozenset({"GET", "DELETE"}), KeyScope.INFERENCE), "id"),
    ("/api/", Endpoint(_admin, ANY, KeyScope.ADMIN), "rest"),
    (proxy.PREFIX, Endpoint(proxy.proxy, ANY, KeyScope.INFERENCE), "path"),  # see api/proxy.py for its rule
]

assert all(EXACT[path].scope is None for path in PUBLIC)
assert all(endpoint.scope is not None for path, endpoint in EXACT.items() if path not in PUBLIC)


def lookup(path: str) -> tuple[Endpoint | None, dict[str, str]]:
    endpoint = EXACT.get(path)
    if endpoint is not None:
        return endpoint, {}
    for prefix, candidate, param in PREFIXED:
        if path.startswith(prefix) and len(path) > len(prefix):
            return candidate, {param: path[len(prefix) :]}
    return None, {}


def endpoint_label(path: str, endpoint: Endpoint | None, params: dict[str, str]) -> str:
    """The route-table name of a request's endpoint, for usage and metrics (never the client's raw path)."""
    if endpoint is None:
        return "unknown"
    if not params:
        return path
    return path[: len(path) - len(next(iter(params.values())))].rstrip("/")


async def dispatch(gw: Gateway, scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Find the endpoint, check the key, run the handler, and render any error in the route's protocol.
    Each request gets a usage record (`modelport.usage`) that sees what is sent."""
    path: str = scope["path"]
    endpoint, params = lookup(path)
    begun = gw.usage.begin(scope["method"], endpoint_label(path, endpoint, params), scope["headers"])
    if begun is None:
        await _dispatch(gw, scope, receive, send, endpoint, params, None)
        return
    record, token = begun
    try:
        await _dispatch(gw, scope, receive, send, endpoint, params, record)
    finally:
        gw.usage.finish(record, token)


async def _dispatch(gw: Gateway, scope: dict[str, Any], receive: Receive, send: Send, endpoint: Endpoint | None,
                    params: dict[str, str], record: UsageRecord | None) -> None:
    path: str = scope["path"]
    origins = gw.origins
    plain_send = send
    if origins.active:
        origin = origins.allowed_origin(scope)
        if origin is not None:
            send = origins.marking(origin, send)
    started = False

    async def tracked_send(message: dict[str, Any]) -> None:  # the one wrapper of every message sent
        nonlocal started
        started = True
        if record is not None:
            record.sent(message)
        await send(message)

    protocol = endpoint.protocol if endpoint is not None else "openai"
    try:
        if origins.active:
            origins.check_host(scope)
            preflight_send = plain_send if record is None else record.watching(plain_send)
            if await origins.answer_preflight(scope, preflight_send):
                return
        if endpoint is None:
            raise NotFound(f"Unknown route: {scope['method']} {path}", code="unknown_route")
        if scope["method"] not in endpoint.methods:
            raise MethodNotAllowed(f"{scope['method']} is not allowed on {path}.", allowed=endpoint.methods)
        key = None
        if endpoint.scope is not None:
            headers = scope["headers"]
            token = token_from_headers(header(headers, b"authorization"), header(headers, b"x-api-key"))
            key = None if token else await gw.sessions.authenticate(headers, endpoint.scope)  # the web UI's cookie
            if key is None:
                key = await gw.verifier.verify(token, endpoint.scope)
            if record is not None:
                record.key_id = key.id
        label = endpoint_label(path, endpoint, params)
        handler = endpoint.handler
        if key is not None and is_limited(gw, key, scope["method"], label):  # its limits (api/admission.py)
            await admitted(gw, key, label, protocol, scope, receive, tracked_send, record,
                           lambda receive, send: handler(gw, Request(scope, receive, key, params), send))
        else:
            await handler(gw, Request(scope, receive, key, params), tracked_send)
    except ClientGone:
        if record is not None:
            record.client_gone = True
        return
    except ModelportError as error:
        if not started:
            await send_error(tracked_send, error, protocol)
    except Exception:
        log.exception("unhandled error on %s %s", scope["method"], path)
        if not started:
            await send_error(tracked_send, ModelportError("Internal error; see the gateway's log."), protocol)
