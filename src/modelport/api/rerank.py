"""Jina's `/v1/rerank` and Cohere's `/v2/rerank`, over the same rerank engines.

The gateway checks a rerank request before any instance sees it (clear 400s for a missing `query`, empty or
too many `documents`, `top_n` out of range), decoding only the fields it checks. Then:

- an instance that speaks Jina's rerank (built-in workers, vLLM, llama.cpp's server) gets `/v1/rerank`
  bytes relayed as they came;
- an instance that speaks only TEI's native API gets the request translated to TEI's root `/rerank` and
  the answer translated back (`translate.jina_tei`). A deployment's instances speak TEI when its engine is
  the `tei` preset, or, for a remote URL deployment, when its `engine_args` hold `api: tei`;
- `/v2/rerank` (Cohere) is translated to Jina (`translate.cohere_jina`), answered by either of the above,
  and translated back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from modelport.api.request import Request, until_disconnect
from modelport.api.responses import send_json
from modelport.errors import (
    BadRequest,
    BadUpstreamResponse,
    MissingModel,
)
from modelport.protocols.rerank import RerankFields
from modelport.relay.body import decode_json, decode_struct, with_model
from modelport.relay.exchange import UpstreamRequest, upstream_error
from modelport.routing.capabilities import RerankApi
from modelport.routing.router import Route
from modelport.translate.cohere_jina import cohere_response_from_jina, jina_request_from_cohere
from modelport.translate.jina_tei import estimate_tokens, jina_response_from_tei, tei_request_from_jina
from modelport.types import Send

if TYPE_CHECKING:
    from modelport.gateway import Gateway

Headers = list[tuple[bytes, bytes]]


def check_rerank(body: bytes, max_documents: int) -> RerankFields:
    """The routing and shape fields of a Jina or Cohere rerank body; a 400 naming what is wrong."""
    fields = decode_struct(body, RerankFields, "rerank request")
    if not fields.model:
        raise MissingModel("You must provide a `model` parameter.", param="model")
    if not bytes(fields.query) or bytes(fields.query) == b"null":
        raise BadRequest("`query` is required: the text to rank the documents against.", param="query")
    if bytes(fields.query)[:1] not in (b'"', b"{"):
        raise BadRequest('`query` must be a string (or an object with a "text" string).', param="query")
    documents = fields.documents
    if not documents:
        raise BadRequest("`documents` must be a non-empty list of strings or {\"text\": ...} objects.",
                         param="documents")
    if len(documents) > max_documents:
        raise BadRequest(f"Too many documents: {len(documents)}; this server ranks at most {max_documents} "
                         "per request.", param="documents", code="too_many_documents")
    for index, raw in enumerate(documents):
        if bytes(raw)[:1] not in (b'"', b"{"):
            raise BadRequest('Each document must be a string or an object with a "text" string.',
                             param=f"documents[{index}]")
    if fields.top_n is not None and not 1 <= fields.top_n <= len(documents):
        raise BadRequest(f"`top_n` must be between 1 and the number of documents ({len(documents)}); "
                         f"got {fields.top_n}.", param="top_n")
    return fields


async def _read(gw: Gateway, request: Request) -> tuple[bytes, RerankFields, Route]:
    body = await request.read_json(gw.settings.max_request_bytes)
    fields = check_rerank(body, gw.settings.max_rerank_documents)
    assert fields.model is not None
    return body, fields, await gw.router.resolve_current(fields.model, request.key)


async def jina_rerank(gw: Gateway, request: Request, send: Send) -> None:
    """POST /v1/rerank: relayed to Jina-speaking instances, translated for TEI ones."""
    body, _, route = await _read(gw, request)
    if route.capabilities.rerank is RerankApi.TEI:
        translated = _via_tei(gw, route, request.headers, decode_json(body))
        await until_disconnect(request.receive, _answer(send, translated))
        return
    if route.renames_model:
        body = with_model(body, route.upstream_model)
    upstream = UpstreamRequest(
        method="POST", path="/rerank", query=request.query, client_headers=request.headers, body=body,
        content_length=len(body), rename_to=route.name if route.renames_model else None,
    )
    await until_disconnect(request.receive, gw.relay.forward(route, upstream, send))


async def cohere_rerank(gw: Gateway, request: Request, send: Send) -> None:
    """POST /v2/rerank: Cohere's shape in and out, a Jina or TEI rerank behind."""
    body, fields, route = await _read(gw, request)
    cohere = decode_json(body)
    jina = jina_request_from_cohere(cohere, upstream_model=route.upstream_model)
    via = _via_tei if route.capabilities.rerank is RerankApi.TEI else _via_jina
    work = via(gw, route, request.headers, jina)
    documents = len(fields.documents or ())

    def to_cohere(answer: Any) -> Any:
        return cohere_response_from_jina(answer, return_documents=bool(fields.return_documents),
                                         documents=documents)

    await until_disconnect(request.receive, _answer(send, work, to_cohere))


async def _answer(send: Send, work: Awaitable[Any], shape: Callable[[Any], Any] = lambda answer: answer) -> None:
    """Await the instance's (translated) answer and send it, shaped for the client."""
    await send_json(send, 200, shape(await work))


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
