"""The llama.cpp engine's embedding path (`--engine-arg embedding=true`), here on SmolLM2's GGUF.

SmolLM2 is no embedding model; this checks the path (pooling, normalisation, wire format), not quality.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import openai
import pytest

from tests.worker.live import LiveWorker, require_ready

MODEL = "smollm2-135m-instruct"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[openai.OpenAI]:
    require_ready(MODEL)
    with LiveWorker(
        "llama.cpp",
        MODEL,
        Path(tmp_path_factory.mktemp("llemb")),
        "--engine-arg",
        "embedding=true",
        "--served-name",
        "smol-embed",
    ) as live:
        yield openai.OpenAI(base_url=live.url + "/v1", api_key=live.secret, max_retries=0)


def test_gguf_embeddings(client: openai.OpenAI) -> None:
    result = client.embeddings.create(
        model="smol-embed", input=["hello world", "goodbye"], encoding_format="float"
    )
    vectors = np.array([d.embedding for d in result.data])
    assert vectors.shape == (2, 576)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert result.usage.prompt_tokens > 0 and result.model == "smol-embed"
    b64 = client.embeddings.create(model="smol-embed", input=["hello world"])
    assert np.allclose(b64.data[0].embedding, vectors[0], atol=1e-5)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="smol-embed", messages=[{"role": "user", "content": "hi"}])
