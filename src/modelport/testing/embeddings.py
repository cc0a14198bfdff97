"""POST /v1/embeddings (deterministic unit vectors) and POST /v1/rerank (Jina shape, word overlap)."""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
from typing import Any

from aiohttp import web

from modelport.testing.replies import count_words
from modelport.testing.wire import Call, FakeHTTPError, json_response

DEFAULT_DIMENSIONS = 8
_WORD = re.compile(r"\w+")


def embed(text: bytes, dimensions: int) -> list[float]:
    """A unit vector derived from a hash of ``text``; every component is exactly a float32."""
    raw = hashlib.shake_256(text).digest(2 * dimensions)
    values = [v / 32768 for v in struct.unpack(f"<{dimensions}h", raw)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return list(struct.unpack(f"<{dimensions}f", struct.pack(f"<{dimensions}f", *(v / norm for v in values))))


def _inputs(data: dict[str, Any]) -> list[tuple[bytes, int]]:
    """Each input as (bytes to hash, token count)."""
    value = data.get("input")
    if isinstance(value, str):
        return [(value.encode(), count_words(value))]
    if isinstance(value, list) and value and all(isinstance(t, int) for t in value):
        return [(repr(value).encode(), len(value))]
    if isinstance(value, list) and value:
        items: list[tuple[bytes, int]] = []
        for item in value:
            if isinstance(item, str):
                items.append((item.encode(), count_words(item)))
            elif isinstance(item, list):
                items.append((repr(item).encode(), len(item)))
            else:
                raise FakeHTTPError(400, "input items must be strings or token arrays", param="input")
        return items
    raise FakeHTTPError(400, "input must be a non-empty string or list", param="input")


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


async def embeddings(request: web.Request, call: Call) -> web.StreamResponse:
    """Answer an embeddings request: one unit vector per input, float or base64 (little-endian float32)."""
    data = call.json()
    model = call.model(data)
    dimensions = data.get("dimensions") or DEFAULT_DIMENSIONS
    if not isinstance(dimensions, int) or not 1 <= dimensions <= 65536:
        raise FakeHTTPError(400, "dimensions must be a positive integer", param="dimensions")
    encoding = data.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise FakeHTTPError(400, "encoding_format must be float or base64", param="encoding_format")
    inputs = _inputs(data)
    items = [{"object": "embedding", "index": i, "embedding": _encode(embed(text, dimensions), encoding)}
             for i, (text, _) in enumerate(inputs)]
    tokens = max(1, sum(count for _, count in inputs))
    return json_response({"object": "list", "data": items, "model": model,
                          "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


def _document_text(document: Any) -> str:
    if isinstance(document, str):
        return document
    text = document.get("text") if isinstance(document, dict) else None
    if isinstance(text, str):
        return text
    raise FakeHTTPError(400, 'documents must be strings or {"text": ...} objects', param="documents")


def relevance(query: str, document: str) -> float:
    """The share of the query's distinct words that occur in the document (0 to 1)."""
    wanted = set(_WORD.findall(query.lower()))
    if not wanted:
        return 0.0
    return len(wanted & set(_WORD.findall(document.lower()))) / len(wanted)


async def rerank(request: web.Request, call: Call) -> web.StreamResponse:
    """Answer a Jina-style rerank request: documents by word overlap with the query, best first."""
    data = call.json()
    model = call.model(data)
    query, documents = data.get("query"), data.get("documents")
    if not isinstance(query, str) or not isinstance(documents, list):
        raise FakeHTTPError(400, "query (string) and documents (list) are required")
    texts = [_document_text(d) for d in documents]
    ranked = sorted(range(len(texts)), key=lambda i: -relevance(query, texts[i]))
    top_n = data.get("top_n")
    if isinstance(top_n, int) and top_n >= 0:
        ranked = ranked[:top_n]
    with_documents = data.get("return_documents", True) is not False
    results = []
    for index in ranked:
        result: dict[str, Any] = {"index": index, "relevance_score": relevance(query, texts[index])}
        if with_documents:
            result["document"] = {"text": texts[index]}
        results.append(result)
    tokens = max(1, count_words(query) * len(texts) + sum(count_words(t) for t in texts))
    return json_response({"model": model, "object": "list", "results": results,
                          "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
