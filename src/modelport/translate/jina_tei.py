"""Jina rerank (client side) ⇄ TEI's native `/rerank` (backend side), pure translation, no I/O.

text-embeddings-inference serves rerank only at its root, `POST /rerank`:

- request: Jina `query` → `query`; `documents` (strings or `{"text": ...}`) → `texts`; the gateway asks
  for `return_text: false` (it holds the texts already) and `truncate: true` (Jina truncates long inputs
  too, TEI would refuse them).
- response: the bare array `[{"index", "score"}]` → Jina's `{"model", "object": "list", "results":
  [{"index", "relevance_score", "document": {"text"}}], "usage"}`, sorted by score (highest first);
  `top_n` is applied here (TEI has no such parameter), `document` added unless `return_documents` is false.
- usage: TEI reports its token count only in the `x-compute-tokens` response header; when the instance
  sends none (the built-in workers don't), it is *estimated* at one token per four characters of every
  (query, document) pair, the text a cross-encoder reads.
"""

from __future__ import annotations

from typing import Any

from modelport.errors import BadRequest, UpstreamUnreachable
from modelport.protocols.rerank import JinaResponse, JinaResult, TeiRequest


def text_of(value: Any, param: str) -> str:
    """A query or document given as a string or `{"text": ...}`; 400 for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return str(value["text"])
    raise BadRequest(f'`{param}` must be a string or an object with a "text" string.', param=param)


def tei_request_from_jina(jina: dict[str, Any]) -> tuple[TeiRequest, list[str]]:
    """The TEI `/rerank` body for a (validated) Jina request, and the document texts."""
    documents = jina.get("documents") or []
    texts = [text_of(doc, f"documents[{i}]") for i, doc in enumerate(documents)]
    request: TeiRequest = {"query": text_of(jina.get("query"), "query"), "texts": texts,
                           "return_text": False, "truncate": True}
    return request, texts


def estimate_tokens(query: str, texts: list[str]) -> int:
    """About four characters per token over every (query, document) pair; at least 1."""
    characters = sum(len(query) + len(text) for text in texts)
    return max(1, (characters + 3) // 4)


def jina_response_from_tei(
    ranks: Any, texts: list[str], *, model: str, top_n: int | None, return_documents: bool, tokens: int
) -> JinaResponse:
    """TEI's `[{"index", "score"}]` as a Jina response; 502 when the answer isn't that shape."""
    if not isinstance(ranks, list):
        raise UpstreamUnreachable("The instance's /rerank answer was not a list of {index, score}.")
    try:
        pairs = sorted(((int(r["index"]), float(r["score"])) for r in ranks), key=lambda p: -p[1])
    except (KeyError, TypeError, ValueError):
        raise UpstreamUnreachable("The instance's /rerank answer was not a list of {index, score}.") from None
    if any(not 0 <= index < len(texts) for index, _ in pairs):
        raise UpstreamUnreachable("The instance's /rerank answer named a document that was not sent.")
    results: list[JinaResult] = []
    for index, score in pairs[: top_n or len(pairs)]:
        result: JinaResult = {"index": index, "relevance_score": score}
        if return_documents:
            result = {"document": {"text": texts[index]}, **result}
        results.append(result)
    return {"model": model, "object": "list", "results": results,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
