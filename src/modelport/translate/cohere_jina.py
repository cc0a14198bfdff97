"""Cohere rerank v2 (client side) ⇄ Jina rerank (backend side), pure translation, no I/O.

- request: `model` → the deployment's upstream model; `query`, `documents` (strings, or `{"text": ...}`
  as Cohere v1 allowed) and `top_n` as they are; `return_documents` sent explicitly (Cohere's default is
  false, Jina's true); `max_tokens_per_doc`, `rank_fields` and `max_chunks_per_doc` are dropped (the
  engines truncate to their own context).
- response: Jina's `results` → Cohere's `results` (`index`, `relevance_score`, and `document: {"text"}`
  only when asked for), best first; `id` is minted by the gateway; `meta` says API version 2 and one
  billed search unit, as Cohere counts one per query of up to 100 documents (rounded up).
"""

from __future__ import annotations

import uuid
from typing import Any

from modelport.errors import UpstreamUnreachable
from modelport.protocols.rerank import CohereResponse, CohereResult

DOCUMENTS_PER_SEARCH_UNIT = 100


def jina_request_from_cohere(cohere: dict[str, Any], *, upstream_model: str) -> dict[str, Any]:
    """The Jina `/v1/rerank` body for a (validated) Cohere `/v2/rerank` body."""
    jina: dict[str, Any] = {"model": upstream_model, "query": cohere.get("query"),
                            "documents": cohere.get("documents"),
                            "return_documents": bool(cohere.get("return_documents"))}
    if cohere.get("top_n") is not None:
        jina["top_n"] = cohere["top_n"]
    return jina


def new_rerank_id() -> str:
    return str(uuid.uuid4())


def cohere_response_from_jina(
    jina: Any, *, return_documents: bool, documents: int, response_id: str | None = None
) -> CohereResponse:
    """A Jina rerank answer in Cohere v2's shape; 502 when the answer has no usable `results`."""
    items = jina.get("results") if isinstance(jina, dict) else None
    if not isinstance(items, list):
        raise UpstreamUnreachable("The instance's rerank answer had no `results` list.")
    results: list[CohereResult] = []
    try:
        for item in sorted(items, key=lambda r: -float(r["relevance_score"])):
            result: CohereResult = {"index": int(item["index"]), "relevance_score": float(item["relevance_score"])}
            document = item.get("document")
            if return_documents and isinstance(document, dict) and isinstance(document.get("text"), str):
                result["document"] = {"text": document["text"]}
            results.append(result)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise UpstreamUnreachable("The instance's rerank answer had malformed `results`.") from None
    units = max(1, -(-documents // DOCUMENTS_PER_SEARCH_UNIT))
    meta = {"api_version": {"version": "2"}, "billed_units": {"search_units": units}}
    return {"id": response_id or new_rerank_id(), "results": results, "meta": meta}
