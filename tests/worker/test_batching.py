"""Dynamic batching: concurrent embedding and rerank requests share engine batches, each gets its own rows.

In-process (the real engines under the real `Batcher` and gate, to see the batch sizes) and through a live
worker over HTTP (the whole path, usage included).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from modelport.engines import EngineOptions, create_engine
from modelport.engines.base import Embeddings, Engine
from modelport.worker.batcher import Batcher, BatchLimits, EmbedJob, EngineBatchers, embed_many
from modelport.worker.gate import REFUSED_HEADER, InferenceGate, QueueFull
from tests.worker.live import LiveWorker, require_ready

EMBEDDER = "all-minilm-l6-v2"
RERANKER = "e5-small-bi-encoder-rerank"
SENTENCES = [f"Sentence {i}: the {'quick ' * (i % 5)}brown fox number {i * 7} jumps." for i in range(100)]
TOPICS = ["pandas", "volcanoes", "jazz", "bread", "rockets", "chess", "rivers", "glaciers", "bees", "tea"]


def _documents(shift: int) -> list[str]:
    return [f"A short note about {TOPICS[(j + shift) % 10]}." for j in range(10)]


def _topic(i: int) -> int:
    """Request i asks about this topic, which `_documents(i)` holds at index `(_topic(i) - i) % 10`."""
    return (3 * i + 1) % 10


def _loaded(engine: str, model: str) -> Engine:
    require_ready(model)
    loaded = create_engine(engine, EngineOptions(model))
    loaded.load()
    return loaded


@pytest.fixture(scope="module")
def minilm() -> Engine:
    return _loaded("onnx-embeddings", EMBEDDER)


@pytest.fixture(scope="module")
def e5() -> Engine:
    return _loaded("e5", RERANKER)


class _Recorder:
    """Wraps `embed_many` to record each engine batch's size (the engine and batcher stay real)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sizes: list[int] = []

    def __call__(self, jobs: list[EmbedJob]) -> list[Any]:
        self.sizes.append(len(jobs))
        return embed_many(self.engine, jobs)


async def test_concurrent_embeddings_share_batches_and_keep_their_rows(minilm: Engine) -> None:
    gate = InferenceGate()
    recorder = _Recorder(minilm)
    batcher = Batcher(gate, recorder, key=lambda job: (job.normalize, job.input_type),
                      cost=lambda job: 16, limits=BatchLimits(max_requests=64))
    results = await asyncio.gather(*(batcher.submit(EmbedJob((text,))) for text in SENTENCES))
    assert sum(recorder.sizes) == 100 and max(recorder.sizes) > 1  # really batched
    assert max(recorder.sizes) <= 64
    for text, result in zip(SENTENCES, results, strict=True):
        alone = minilm.embed([text])
        assert result.vectors.shape == (1, 384)
        assert np.allclose(result.vectors, alone.vectors, atol=1e-4)
        assert result.prompt_tokens == alone.prompt_tokens
    gate.close()


async def test_options_that_differ_never_share_a_batch(e5: Engine) -> None:
    gate = InferenceGate()
    batchers = EngineBatchers(e5, gate, BatchLimits())
    query, passage = await asyncio.gather(batchers.embed(["tea"], input_type="query"),
                                          batchers.embed(["tea"], input_type="passage"))
    assert np.allclose(query.vectors, e5.embed(["tea"], input_type="query").vectors, atol=1e-5)
    assert np.allclose(passage.vectors, e5.embed(["tea"], input_type="passage").vectors, atol=1e-5)
    assert not np.allclose(query.vectors, passage.vectors, atol=1e-3)
    gate.close()


async def test_concurrent_reranks_each_get_their_own_ranking(e5: Engine) -> None:
    gate = InferenceGate()
    batchers = EngineBatchers(e5, gate, BatchLimits())
    queries = [f"Tell me about {TOPICS[_topic(i)]}" for i in range(6)]
    results = await asyncio.gather(*(batchers.score(q, _documents(i)) for i, q in enumerate(queries)))
    for i, (query, result) in enumerate(zip(queries, results, strict=True)):
        alone = e5.rerank(query, _documents(i))
        assert np.allclose(result.scores, alone.scores, atol=1e-4)
        assert np.argsort(result.scores)[-1] == np.argsort(alone.scores)[-1]
        assert result.prompt_tokens == alone.prompt_tokens
        assert int(np.argmax(result.scores)) == (_topic(i) - i) % 10
    gate.close()


async def test_a_bad_input_fails_only_its_own_request(e5: Engine) -> None:
    gate = InferenceGate()
    batchers = EngineBatchers(e5, gate, BatchLimits())
    outcomes: tuple[Embeddings | BaseException, ...] = await asyncio.gather(
        batchers.embed(["tea"]), batchers.embed(["tea"], input_type="poem"), return_exceptions=True
    )
    good, bad = outcomes
    assert not isinstance(good, BaseException) and good.vectors.shape == (1, 384)
    assert isinstance(bad, ValueError) and "input_type" in str(bad)
    gate.close()


async def test_requests_whose_clients_left_are_skipped(minilm: Engine) -> None:
    gate = InferenceGate()
    recorder = _Recorder(minilm)
    batcher = Batcher(gate, recorder, key=lambda job: None, cost=lambda job: 16, limits=BatchLimits())
    async with gate.turn():  # the engine is busy while three of ten clients hang up
        tasks = [asyncio.create_task(batcher.submit(EmbedJob((text,)))) for text in SENTENCES[:10]]
        await asyncio.sleep(0.05)
        for task in tasks[:3]:
            task.cancel()
    kept = await asyncio.gather(*tasks[3:])
    assert recorder.sizes == [7]  # the three that left cost the engine nothing
    for result, text in zip(kept, SENTENCES[3:10], strict=True):
        assert np.allclose(result.vectors, minilm.embed([text]).vectors, atol=1e-4)
    assert all(task.cancelled() for task in tasks[:3])
    gate.close()


async def test_a_full_line_is_refused_with_the_refusal_header(minilm: Engine) -> None:
    gate = InferenceGate()
    batchers = EngineBatchers(minilm, gate, BatchLimits(max_queue=2))
    async with gate.turn():  # the engine is busy: jobs wait in line
        waiting = [asyncio.create_task(batchers.embed([text])) for text in SENTENCES[:2]]
        await asyncio.sleep(0.05)
        with pytest.raises(QueueFull) as caught:
            await batchers.embed(["one too many"])
    refusal = caught.value
    assert refusal.status == 503 and refusal.code == "queue_full"
    assert (b"retry-after", b"1") in refusal.headers()
    assert (REFUSED_HEADER.encode(), b"queue_full") in refusal.headers()
    assert all(result.vectors.shape == (1, 384) for result in await asyncio.gather(*waiting))
    gate.close()


@pytest.mark.parametrize("extra", [{"embedding": "true"}, {"pooling": "mean"}], ids=["token-level", "pooled"])
async def test_llama_cpp_embeddings_batch_across_requests(extra: dict[str, str]) -> None:
    require_ready("smollm2-135m-instruct")
    engine = create_engine("llama.cpp", EngineOptions("smollm2-135m-instruct", extra=extra))
    engine.load()
    gate = InferenceGate()
    batchers = EngineBatchers(engine, gate, BatchLimits())
    texts = SENTENCES[:6]
    results = await asyncio.gather(*(batchers.embed([text]) for text in texts))
    for text, result in zip(texts, results, strict=True):
        alone = engine.embed([text])
        # llama.cpp's kernels differ slightly with the batch's shape: the same vector to a cosine of 0.9999
        assert float(result.vectors[0] @ alone.vectors[0]) > 0.9999
        assert result.prompt_tokens == alone.prompt_tokens > 0
    gate.close()


async def test_the_gate_refuses_past_its_line_with_the_refusal_header() -> None:
    gate = InferenceGate(max_queue=0)
    async with gate.slot():  # the one running request; no one may wait
        with pytest.raises(QueueFull) as caught:
            async with gate.slot():
                pass
    assert (REFUSED_HEADER.encode(), b"queue_full") in caught.value.headers()
    async with gate.slot():  # free again
        pass
    gate.close()


# ---- through a live worker ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def embed_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    require_ready(EMBEDDER)
    with LiveWorker("onnx-embeddings", EMBEDDER, Path(tmp_path_factory.mktemp("batch"))) as live:
        yield live


@pytest.fixture(scope="module")
def rerank_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    require_ready(RERANKER)
    with LiveWorker("e5", RERANKER, Path(tmp_path_factory.mktemp("batch-rr"))) as live:
        yield live


async def _post(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> dict[str, Any]:
    async with http.post(url, json=body) as response:
        assert response.status == 200, await response.text()
        return await response.json()  # type: ignore[no-any-return]


async def test_100_concurrent_embedding_requests_all_get_their_own(embed_worker: LiveWorker) -> None:
    url = embed_worker.url + "/v1/embeddings"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(headers=embed_worker.headers, connector=connector) as http:
        together = await asyncio.gather(*(_post(http, url, {"model": EMBEDDER, "input": s}) for s in SENTENCES))
        for sentence, answer in zip(SENTENCES, together, strict=True):
            alone = await _post(http, url, {"model": EMBEDDER, "input": sentence})
            assert np.allclose(answer["data"][0]["embedding"], alone["data"][0]["embedding"], atol=1e-4)
            assert answer["usage"] == alone["usage"] and answer["usage"]["prompt_tokens"] > 0
    assert len({a["usage"]["prompt_tokens"] for a in together}) > 1  # each its own count, not a batch total


async def test_16_concurrent_rerank_requests_get_their_own_rankings(rerank_worker: LiveWorker) -> None:
    url = rerank_worker.url + "/v1/rerank"
    bodies = [{"model": RERANKER, "query": f"Tell me about {TOPICS[_topic(i)]}", "documents": _documents(i),
               "return_documents": False} for i in range(16)]
    async with aiohttp.ClientSession(headers=rerank_worker.headers) as http:
        together = await asyncio.gather(*(_post(http, url, body) for body in bodies))
        for i, (body, answer) in enumerate(zip(bodies, together, strict=True)):
            alone = await _post(http, url, body)
            assert [r["index"] for r in answer["results"]] == [r["index"] for r in alone["results"]]
            assert answer["results"][0]["index"] == (_topic(i) - i) % 10  # the document on its own topic
            assert answer["usage"] == alone["usage"]
