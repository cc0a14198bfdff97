"""A live e5 worker (bi-encoder rerank) in Jina and TEI formats."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.worker.live import LiveWorker, require_ready

MODEL = "e5-small-bi-encoder-rerank"
PANDA = [
    "hi",
    "it is a bear",
    (
        "The giant panda (Ailuropoda melanoleuca), sometimes called a panda bear or simply panda, "
        "is a bear species endemic to China."
    ),
]


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    require_ready(MODEL)
    with LiveWorker("e5", MODEL, Path(tmp_path_factory.mktemp("rerank"))) as live:
        yield live


async def _post(worker: LiveWorker, path: str, body: dict[str, object]) -> tuple[int, object]:
    async with (
        aiohttp.ClientSession(headers=worker.headers) as http,
        http.post(worker.url + path, json=body) as r,
    ):
        return r.status, await r.json()


async def test_jina_rerank_spec_example(worker: LiveWorker) -> None:
    status, body = await _post(
        worker,
        "/v1/rerank",
        {"model": "bge-reranker-v2-m3", "query": "What is a panda?", "top_n": 3, "documents": PANDA},
    )
    assert status == 200
    assert isinstance(body, dict)
    assert body["model"] == MODEL and body["object"] == "list"
    results = body["results"]
    assert results[0]["index"] == 2
    assert results[0]["document"] == {"text": PANDA[2]}
    scores = [r["relevance_score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert (
        body["usage"]["prompt_tokens"] > 0 and body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"]
    )


async def test_top_n_return_documents_and_object_documents(worker: LiveWorker) -> None:
    docs = [{"text": d} for d in PANDA]
    status, body = await _post(
        worker,
        "/v1/rerank",
        {"model": "m", "query": "What is a panda?", "top_n": 1, "return_documents": False, "documents": docs},
    )
    assert status == 200 and isinstance(body, dict)
    assert len(body["results"]) == 1
    assert body["results"][0]["index"] == 2 and "document" not in body["results"][0]


async def test_rerank_picks_the_relevant_document(worker: LiveWorker) -> None:
    docs = [
        "Paris is the capital and largest city of France.",
        "Bananas are rich in potassium.",
        "The Python programming language was created by Guido van Rossum.",
    ]
    for query, expected in (
        ("Who created Python?", 2),
        ("What fruit has potassium?", 1),
        ("capital of France", 0),
    ):
        status, body = await _post(worker, "/v1/rerank", {"model": "m", "query": query, "documents": docs})
        assert status == 200 and isinstance(body, dict)
        assert body["results"][0]["index"] == expected, (query, body)


async def test_tei_rerank(worker: LiveWorker) -> None:
    status, body = await _post(
        worker, "/rerank", {"query": "What is a panda?", "texts": PANDA, "return_text": True}
    )
    assert status == 200 and isinstance(body, list)
    assert body[0]["index"] == 2 and body[0]["text"] == PANDA[2]
    assert [b["score"] for b in body] == sorted((b["score"] for b in body), reverse=True)
    status, plain = await _post(worker, "/rerank", {"query": "What is a panda?", "texts": PANDA})
    assert isinstance(plain, list) and "text" not in plain[0]


async def test_rerank_bad_input_is_400(worker: LiveWorker) -> None:
    for body in (
        {"model": "m", "documents": PANDA},
        {"model": "m", "query": "q", "documents": []},
        {"model": "m", "query": "q", "documents": [1]},
        {"model": "m", "query": "q", "documents": ["a"], "top_n": 0},
    ):
        status, answer = await _post(worker, "/v1/rerank", body)
        assert status == 400, body
        assert isinstance(answer, dict) and answer["error"]["type"] == "invalid_request_error"


async def test_e5_embeddings_are_query_passage_aware(worker: LiveWorker) -> None:
    status, query = await _post(
        worker, "/v1/embeddings", {"model": "m", "input": "panda", "input_type": "query"}
    )
    status, passage = await _post(
        worker, "/v1/embeddings", {"model": "m", "input": "panda", "input_type": "passage"}
    )
    assert status == 200 and isinstance(query, dict) and isinstance(passage, dict)
    assert query["data"][0]["embedding"] != passage["data"][0]["embedding"]
