"""What a limited request names and reserves, found before its handler runs: the deployment (for the limits
set on it through the key) and the tokens it reserves. A body read for that is given again to the handler.

Where the model is, as each handler finds it:

- a JSON body's `model` (chat, completions, embeddings, images, speech, rerank, messages, responses): the
  body is read (bounded as the handler reads it) and decoded once for the model and the reservation;
- a multipart upload's `model` field (transcriptions, translations, image edits), which may come after the
  file: the upload is spooled (memory, then a temp file, as the handler spools it), only when the key limits
  some deployment, since nothing else about an upload is counted;
- the generic proxy: the `X-GPUStack-Model` header, else the path's leading segments, else a JSON body's
  `model` (read only in that last case, and only when the key limits some deployment).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote

from modelport.api.proxy import MODEL_HEADER, body_model, raw_segments, split_deployment
from modelport.errors import ModelportError
from modelport.multipart import spool_multipart
from modelport.quota.estimate import estimate, output_reservation
from modelport.records import ApiKey
from modelport.relay.body import read_body
from modelport.relay.headers import header
from modelport.routing.router import Route
from modelport.types import Receive

if TYPE_CHECKING:
    from modelport.gateway import Gateway

PROXY = "/model/proxy"
_REPLAY_CHUNK = 64 * 1024


@dataclass
class Inspected:
    """A limited request as admission sees it: the `receive` its handler gets (the body given again when it
    was read), the deployment it names ('' for none found) and the tokens it reserves."""

    receive: Receive
    deployment: str = ""
    tokens: int = 0
    close: Callable[[], None] = field(default=lambda: None)  # frees a spooled upload once the handler ran


async def inspect(gw: Gateway, key: ApiKey, endpoint: str, scope: dict[str, Any], receive: Receive) -> Inspected:
    """Read what admission needs of the request of `key` (its limits applied) to `endpoint`."""
    headers = scope["headers"]
    content_type = (header(headers, b"content-type") or b"").lower()
    per_deployment = bool(key.limits.deployments)
    if endpoint == PROXY:
        return await _proxied(gw, key, scope, receive, content_type, per_deployment)
    if scope["method"] != "POST" or _declared_too_large(gw, headers):
        return Inspected(receive)  # the handler answers (405, 413) and nothing is read here
    if content_type.startswith(b"multipart/form-data"):
        if not per_deployment:
            return Inspected(receive)
        return await _multipart(gw, key, receive, content_type.decode("latin-1"))
    if content_type and b"json" not in content_type:
        return Inspected(receive)
    body = await read_body(receive, gw.settings.max_request_bytes)
    reservation = estimate(endpoint, body)
    route = await _deployment(gw, reservation.model, key)
    return Inspected(_replay(body, receive), route.name if route else "",
                     reservation.tokens(output_reservation(route.spec if route else None)))


async def _proxied(gw: Gateway, key: ApiKey, scope: dict[str, Any], receive: Receive, content_type: bytes,
                   per_deployment: bool) -> Inspected:
    """The generic proxy's deployment, found as `api.proxy` finds it; it reserves no tokens."""
    named = header(scope["headers"], MODEL_HEADER)
    if named:
        model: str | None = named.decode("latin-1").strip()
    else:
        segments = [unquote(segment) for segment in raw_segments(scope)]
        split = split_deployment(segments, gw.router.routes)
        model = split[0] if split is not None else None
    if model is None and per_deployment and b"json" in content_type and _has_body(scope["headers"]) \
            and not _declared_too_large(gw, scope["headers"]):
        body = await read_body(receive, gw.settings.max_request_bytes)
        receive = _replay(body, receive)
        model = body_model(body)
    route = await _deployment(gw, model, key) if per_deployment else None
    return Inspected(receive, route.name if route else "")


async def _multipart(gw: Gateway, key: ApiKey, receive: Receive, content_type: str) -> Inspected:
    """An upload's `model` field: the upload spooled, then given again to the handler from the spool."""
    settings = gw.settings
    spooled = await spool_multipart(receive, content_type, settings.max_request_bytes, settings.spool_memory_bytes)
    try:
        route = await _deployment(gw, spooled.model, key)
    except BaseException:
        spooled.close()
        raise
    return Inspected(_replay_file(spooled.file, spooled.size, receive), route.name if route else "", 0,
                     spooled.close)


async def _deployment(gw: Gateway, model: str | None, key: ApiKey) -> Route | None:
    """The deployment `model` names (an alias gives its deployment), None when it names none this key may
    use (the handler answers that)."""
    if not model:
        return None
    route = gw.router.routes.get(model)
    if route is None:
        try:  # deployed a moment ago: the handler would find it the same way
            route = await gw.router.resolve_current(model, key)
        except ModelportError:
            return None
    return route


def _declared_too_large(gw: Gateway, headers: list[tuple[bytes, bytes]]) -> bool:
    declared = header(headers, b"content-length")
    return bool(declared and declared.isdigit() and int(declared) > gw.settings.max_request_bytes)


def _has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    declared = header(headers, b"content-length")
    return bool(declared and declared != b"0") or header(headers, b"transfer-encoding") is not None


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` with the body already read given again first."""
    pending = True

    async def receive_again() -> dict[str, Any]:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


def _replay_file(spool: IO[bytes], size: int, receive: Receive) -> Receive:
    """`receive` with a spooled body given again first, in chunks, never whole."""
    spool.seek(0)
    done = False

    async def receive_again() -> dict[str, Any]:
        nonlocal done
        if done:
            return await receive()
        chunk = spool.read(_REPLAY_CHUNK)
        done = spool.tell() >= size
        return {"type": "http.request", "body": chunk, "more_body": not done}

    return receive_again
