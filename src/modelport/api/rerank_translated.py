"""The rerank translators: a Jina or Cohere rerank body answered by an instance that speaks Jina's rerank
(built-in workers, vLLM, llama.cpp's server) or only TEI's native root `/rerank`.

The translation itself is pure (`translate.jina_tei`, `translate.cohere_jina`); this module does the I/O.
A Jina body for a Jina-speaking instance is relayed as it came; any other pair goes through Jina's shape:
Cohere → Jina → (TEI →) the instance, and its answer back the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from modelport.api.request import Request
from modelport.api.responses import send_json
from modelport.errors import BadUpstreamResponse
from modelport.relay.body import decode_json, with_model
from modelport.relay.exchange import UpstreamRequest, upstream_error
from modelport.routing.router import Route
from modelport.translate.cohere_jina import cohere_response_from_jina, jina_request_from_cohere
from modelport.translate.jina_tei import estimate_tokens, jina_response_from_tei, tei_request_from_jina
from modelport.types import Send

if TYPE_CHECKING:
    from modelport.gateway import Gateway

Headers = list[tuple[bytes, bytes]]


async def relay_jina_rerank(gw: Gateway, request: Request, route: Route, body: bytes, send: Send) -> None:
    """A Jina body to a Jina-speaking instance: the bytes relayed, `model` renamed both ways."""
    if route.renames_model:
        body = with_model(body, route.upstream_model)
    upstream = request.posted_to(route, "/rerank", body, len(body))
    await gw.relay.forward(route, upstream, send)


async def jina_rerank_via_tei(gw: Gateway, request: Request, route: Route, body: bytes, send: Send) -> None:
    """A Jina body answered by a TEI instance, in Jina's shape."""
    jina = decode_json(body)
    await send_json(send, 200, await _via_tei(gw, route, request.headers, jina))


async def cohere_rerank_via_jina(gw: Gateway, request: Request, route: Route, body: bytes, send: Send) -> None:
    """A Cohere body answered by a Jina-speaking instance, in Cohere's shape."""
    cohere = decode_json(body)
    answer = await _via_jina(gw, route, request.headers, _jina_from_cohere(cohere, route))
    await send_json(send, 200, _cohere_from_jina(cohere, answer))


async def cohere_rerank_via_tei(gw: Gateway, request: Request, route: Route, body: bytes, send: Send) -> None:
    """A Cohere body answered by a TEI instance (through Jina's shape), in Cohere's shape."""
    cohere = decode_json(body)
    answer = await _via_tei(gw, route, request.headers, _jina_from_cohere(cohere, route))
    await send_json(send, 200, _cohere_from_jina(cohere, answer))


def _jina_from_cohere(cohere: dict[str, Any], route: Route) -> dict[str, Any]:
    return jina_request_from_cohere(cohere, upstream_model=route.upstream_model)


def _cohere_from_jina(cohere: dict[str, Any], answer: Any) -> Any:
    """The Jina `answer` to a (checked) Cohere body, in Cohere's shape."""
    return cohere_response_from_jina(answer, return_documents=bool(cohere.get("return_documents")),
                                     documents=len(cohere.get("documents") or ()))


async def _via_jina(gw: Gateway, route: Route, headers: Headers, jina: dict[str, Any]) -> Any:
    answer, _ = await _post(gw, route, headers, "/rerank", jina, from_root=False)
    return answer


async def _via_tei(gw: Gateway, route: Route, headers: Headers, jina: dict[str, Any]) -> Any:
    """A Jina request answered by a TEI instance, as a Jina response."""
    tei, texts = tei_request_from_jina(jina)
    ranks, answered = await _post(gw, route, headers, "/rerank", tei, from_root=True)
    counted = answered.get("x-compute-tokens", "")
    tokens = int(counted) if counted.isdigit() else estimate_tokens(tei["query"], texts)
    return jina_response_from_tei(
        ranks, texts, model=route.name, top_n=jina.get("top_n"),
        return_documents=jina.get("return_documents") is not False, tokens=tokens,
    )


async def _post(
    gw: Gateway, route: Route, headers: Headers, path: str, payload: Any, *, from_root: bool
) -> tuple[Any, Any]:
    """POST JSON to an instance of `route` (with the client's headers, less its key); its decoded answer and
    headers, or its error as ours."""
    body = orjson.dumps(payload)
    upstream = UpstreamRequest(method="POST", path=path, query="", client_headers=headers, body=body,
                               content_length=len(body), from_root=from_root,
                               extra_headers={b"content-type": b"application/json"})
    async with gw.relay.exchange(route, upstream) as exchange:
        data = await exchange.read()
    if exchange.status >= 400:
        raise upstream_error(exchange.status, data)
    try:
        return orjson.loads(data), exchange.response
    except orjson.JSONDecodeError:
        raise BadUpstreamResponse("The instance's rerank answer was not JSON.") from None
