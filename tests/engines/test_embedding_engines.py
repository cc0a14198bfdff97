"""The embedding engines in-process: pooling, normalisation, batching order, rerank."""

from __future__ import annotations

import numpy as np
import pytest

from modelport.engines import EngineOptions, create_engine
from tests.worker.live import require_ready


@pytest.fixture(scope="module")
def minilm():  # type: ignore[no-untyped-def]
    require_ready("all-minilm-l6-v2")
    engine = create_engine("onnx-embeddings", EngineOptions("all-minilm-l6-v2"))
    engine.load()
    return engine


def test_batched_equals_one_by_one(minilm) -> None:  # type: ignore[no-untyped-def]
    texts = [f"sentence number {i} " + "word " * (i % 7) for i in range(40)]  # > one batch, mixed lengths
    together = minilm.embed(texts).vectors
    alone = np.stack([minilm.embed([t]).vectors[0] for t in texts[:5]])
    assert together.shape == (40, 384)
    assert np.allclose(together[:5], alone, atol=1e-4)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-4)


def test_known_similarity(minilm) -> None:  # type: ignore[no-untyped-def]
    # sentence-transformers gives ~0.75 for this pair with the fp32 model
    v = minilm.embed(["A man is eating food.", "A man is eating a piece of bread."]).vectors
    assert 0.65 < float(v[0] @ v[1]) < 0.85


def test_e5_rerank_is_cosine() -> None:
    require_ready("e5-small-bi-encoder-rerank")
    engine = create_engine("e5", EngineOptions("e5-small-bi-encoder-rerank"))
    engine.load()
    scores = engine.rerank("What is a panda?", ["hi", "The giant panda is a bear species endemic to China."])
    assert scores.scores[1] > scores.scores[0]
    assert all(-1.0 <= s <= 1.0 for s in scores.scores)
    assert scores.prompt_tokens > 0
