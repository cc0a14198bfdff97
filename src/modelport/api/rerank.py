"""Jina's `/v1/rerank` and Cohere's `/v2/rerank`, over the same rerank engines.

The gateway checks a rerank request before any instance sees it (clear 400s for a missing `query`, empty or
too many `documents`, `top_n` out of range), decoding only the fields it checks. Then the translator table
(`api.translators`) picks by what the deployment's backend speaks (`api/rerank_translated.py` does the I/O):

- an instance that speaks Jina's rerank (built-in workers, vLLM, llama.cpp's server) gets `/v1/rerank`
  bytes relayed as they came;
- an instance that speaks only TEI's native API gets the request translated to TEI's root `/rerank` and
  the answer translated back (`translate.jina_tei`). A deployment's instances speak TEI when its engine is
  the `tei` preset, or, for a remote URL deployment, when its `engine_args` hold `api: tei`;
- `/v2/rerank` (Cohere) is translated to Jina (`translate.cohere_jina`), answered by either of the above,
  and translated back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelport.api.request import Request, until_disconnect
from modelport.api.translators import COHERE_RERANK, JINA_RERANK, ClientApi, translator_for
from modelport.errors import BadRequest, MissingModel
from modelport.protocols.rerank import RerankFields
from modelport.relay.body import decode_struct
from modelport.types import Send

if TYPE_CHECKING:
    from modelport.gateway import Gateway


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


async def jina_rerank(gw: Gateway, request: Request, send: Send) -> None:
    """POST /v1/rerank: relayed to Jina-speaking instances, translated for TEI ones."""
    await _rerank(gw, request, send, JINA_RERANK)


async def cohere_rerank(gw: Gateway, request: Request, send: Send) -> None:
    """POST /v2/rerank: Cohere's shape in and out, a Jina or TEI rerank behind."""
    await _rerank(gw, request, send, COHERE_RERANK)


async def _rerank(gw: Gateway, request: Request, send: Send, client_api: ClientApi[bytes]) -> None:
    body = await request.read_json(gw.settings.max_request_bytes)
    fields = check_rerank(body, gw.settings.max_rerank_documents)
    assert fields.model is not None
    route = await gw.router.resolve_current(fields.model, request.key)
    translator = translator_for(client_api, route)
    await until_disconnect(request.receive, translator(gw, request, route, body, send))
