"""Rerank wire shapes: Jina's `/v1/rerank`, Cohere's `/v2/rerank` and TEI's native `/rerank`.

Jina and Cohere requests share their field names (`model`, `query`, `documents`, `top_n`,
`return_documents`), so one msgspec Struct reads the fields the gateway checks in either. `query` and
each document stay raw JSON (`msgspec.Raw`): counting and shape-checking them costs no string decoding.
A worker decodes its rerank bodies whole (`JinaRerankRequest`, `TeiRerankRequest`).
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

import msgspec


class RerankFields(msgspec.Struct):
    """What the gateway decodes of a Jina or Cohere rerank body (other fields are left alone)."""

    model: str | None = None
    query: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)  # empty: absent
    documents: list[msgspec.Raw] | None = None
    top_n: int | None = None
    return_documents: bool | None = None


class JinaResult(TypedDict, total=False):
    index: int
    relevance_score: float
    document: dict[str, str]  # {"text": ...}, when documents are returned


class JinaUsage(TypedDict):
    prompt_tokens: int
    total_tokens: int


class JinaResponse(TypedDict):
    model: str
    object: str  # "list"
    results: list[JinaResult]
    usage: JinaUsage


class TeiRequest(TypedDict):
    query: str
    texts: list[str]
    return_text: bool
    truncate: bool


class TeiRank(TypedDict, total=False):
    index: int
    score: float
    text: str


class CohereResult(TypedDict, total=False):
    index: int
    relevance_score: float
    document: dict[str, str]


class CohereResponse(TypedDict):
    id: str
    results: list[CohereResult]
    meta: dict[str, Any]


# --- what a worker accepts: Jina's /v1/rerank and TEI's /rerank, in full --------------------------------


class Text(msgspec.Struct):
    """A query or document given as `{"text": ...}`."""

    text: str


class JinaRerankRequest(msgspec.Struct, kw_only=True):
    """Body of Jina's `POST /v1/rerank` as a worker reads it."""

    query: str | Text
    documents: Annotated[list[str | Text], msgspec.Meta(min_length=1)]
    model: str | None = None
    top_n: Annotated[int, msgspec.Meta(ge=1, le=1 << 31)] | None = None
    return_documents: bool | None = None


class TeiRerankRequest(msgspec.Struct, kw_only=True):
    """Body of TEI's `POST /rerank`."""

    query: str | Text
    texts: str | Annotated[list[str], msgspec.Meta(min_length=1)]
    return_text: bool | None = None
    truncate: bool | None = None

