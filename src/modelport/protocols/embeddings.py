"""The embedding bodies a worker accepts, as msgspec Structs: OpenAI's `/v1/embeddings` and TEI's `/embed`.

`null` is the same as absent; unknown fields are ignored. OpenAI's `input` may be token ids as well as
texts; which it is, and whether a list of ids is well formed, the worker decides (`worker/token_ids.py`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

Texts = Annotated[list[str], msgspec.Meta(min_length=1)]


class EmbeddingRequest(msgspec.Struct, kw_only=True):
    """Body of `POST /v1/embeddings` (with `input_type`, as Cohere-style and e5 models take it)."""

    input: str | list[Any]
    model: str | None = None
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = None
    user: str | None = None
    input_type: str | None = None


class TeiEmbedRequest(msgspec.Struct, kw_only=True):
    """Body of TEI's `POST /embed`."""

    inputs: str | Texts
    normalize: bool | None = None
