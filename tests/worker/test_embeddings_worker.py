"""A live onnx-embeddings worker (all-MiniLM-L6-v2) driven with the openai SDK and aiohttp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import numpy as np
import openai
import pytest

from tests.worker.live import LiveWorker, require_ready

MODEL = "all-minilm-l6-v2"


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    require_ready(MODEL)
    with LiveWorker(
        "onnx-embeddings", MODEL, Path(tmp_path_factory.mktemp("emb")), "--served-name", "minilm"
    ) as live:
        yield live


@pytest.fixture(scope="module")
def client(worker: LiveWorker) -> openai.OpenAI:
    return openai.OpenAI(base_url=worker.url + "/v1", api_key=worker.secret, max_retries=0)


def _cos(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_paraphrases_are_closer_than_unrelated(client: openai.OpenAI) -> None:
    texts = [
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "The stock market fell sharply today.",
    ]
    result = client.embeddings.create(model="minilm", input=texts, encoding_format="float")
    vectors = [d.embedding for d in result.data]
    assert [d.index for d in result.data] == [0, 1, 2]
    assert len(vectors[0]) == 384
    assert abs(np.linalg.norm(vectors[0]) - 1.0) < 1e-3
    assert _cos(vectors[0], vectors[1]) > _cos(vectors[0], vectors[2]) + 0.3
    assert result.model == "minilm"
    assert result.usage.prompt_tokens > 0 and result.usage.total_tokens == result.usage.prompt_tokens


def test_base64_equals_float(client: openai.OpenAI, worker: LiveWorker) -> None:
    as_float = client.embeddings.create(model="minilm", input="hello world", encoding_format="float")
    as_b64 = client.embeddings.create(model="minilm", input="hello world")  # the SDK asks for base64
    assert np.allclose(as_float.data[0].embedding, as_b64.data[0].embedding, atol=1e-6)


def test_dimensions_other_than_native_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.embeddings.create(model="minilm", input="hi", dimensions=100)
    assert err.value.body["param"] == "dimensions"  # type: ignore[index]
    assert client.embeddings.create(model="minilm", input="hi", dimensions=384).data


def test_bad_input_is_400_not_500(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="minilm", input=[])
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="minilm", input="x", encoding_format="int8")  # type: ignore[arg-type]


def test_unsupported_endpoint_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="minilm", messages=[{"role": "user", "content": "hi"}])


def test_secret_required(worker: LiveWorker) -> None:
    for key in ("wrong", ""):
        bad = openai.OpenAI(base_url=worker.url + "/v1", api_key=key or "x", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            bad.models.list()


async def test_health_is_public_and_missing_auth_is_401(worker: LiveWorker) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(worker.url + "/health") as response:
            assert response.status == 200 and await response.json() == {"status": "ok"}
        async with http.post(worker.url + "/v1/embeddings", json={"input": "hi"}) as response:
            assert response.status == 401
            body = await response.json()
            assert body["error"]["type"] == "authentication_error"


async def test_tei_embed_and_tokenize(worker: LiveWorker, client: openai.OpenAI) -> None:
    async with aiohttp.ClientSession(headers=worker.headers) as http:
        async with http.post(worker.url + "/embed", json={"inputs": ["hello world", "bye"]}) as response:
            vectors = await response.json()
        async with http.post(
            worker.url + "/embed", json={"inputs": "hello world", "normalize": False}
        ) as response:
            raw = await response.json()
        async with http.post(
            worker.url + "/v1/tokenize", json={"model": "minilm", "prompt": "Hello world"}
        ) as r:
            tokens = await r.json()
        async with http.post(worker.url + "/v1/tokenize", json={"model": "minilm", "messages": []}) as r:
            assert r.status == 400
    assert len(vectors) == 2 and len(vectors[0]) == 384
    openai_vector = client.embeddings.create(model="minilm", input="hello world", encoding_format="float")
    assert np.allclose(vectors[0], openai_vector.data[0].embedding, atol=1e-5)
    assert np.linalg.norm(raw[0]) > 1.5  # un-normalised mean pooling
    assert tokens == {"count": 4, "tokens": [101, 7592, 2088, 102], "max_model_len": 256}


def test_models_lists_served_name(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list().data] == ["minilm"]


async def test_tei_routes_answer_errors_in_tei_shape(worker: LiveWorker) -> None:
    async with aiohttp.ClientSession(headers=worker.headers) as http:
        async with http.post(worker.url + "/embed", json={"inputs": 42}) as response:
            assert response.status == 400
            tei = await response.json()
        async with http.post(worker.url + "/v1/embeddings", json={"input": 42}) as response:
            assert response.status == 400
            openai_shaped = await response.json()
        async with aiohttp.ClientSession() as anonymous, anonymous.post(worker.url + "/embed", json={}) as response:
            assert response.status == 401
            unauthorized = await response.json()
    assert set(tei) == {"error", "error_type"} and tei["error_type"] == "Validation" and tei["error"]
    assert set(openai_shaped) == {"error"} and openai_shaped["error"]["type"] == "invalid_request_error"
    assert unauthorized["error_type"] == "Unauthorized"
