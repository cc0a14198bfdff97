"""An instance with one slot: a full line gets 503 + Retry-After; a hang-up frees the slot for the next request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.worker.live import LiveWorker, require_ready

MODEL = "smollm2-135m-instruct"
# SmolLM2 counts on and on at temperature 0: a generation that runs until max_tokens (~30 s here).
LONG = {
    "model": MODEL,
    "prompt": "Count from 1 to 1000: 1, 2, 3, 4,",
    "max_tokens": 1500,
    "temperature": 0,
    "stream": True,
}
SHORT = {"model": MODEL, "prompt": "Hello", "max_tokens": 3, "temperature": 0}


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    require_ready(MODEL)
    with LiveWorker(
        "llama.cpp", MODEL, Path(tmp_path_factory.mktemp("bp")), "--max-queue", "1", "--engine-arg", "parallel=1"
    ) as live:
        yield live


async def _first_chunk(http: aiohttp.ClientSession, url: str) -> aiohttp.ClientResponse:
    response = await http.post(url + "/v1/completions", json=LONG)
    assert response.status == 200
    assert (await response.content.readline()).startswith(b"data: ")
    return response


async def test_disconnect_mid_stream_frees_the_engine(worker: LiveWorker) -> None:
    async with aiohttp.ClientSession(headers=worker.headers) as http:
        response = await _first_chunk(http, worker.url)
        response.close()  # hang up while tokens are still coming
    started = time.monotonic()
    async with (
        aiohttp.ClientSession(headers=worker.headers) as http,
        http.post(worker.url + "/v1/completions", json=SHORT) as answer,
    ):
        assert answer.status == 200
        body = await answer.json()
    assert body["usage"]["completion_tokens"] == 3
    assert time.monotonic() - started < 5, "the abandoned generation kept the engine busy"


async def test_full_queue_is_503_with_retry_after(worker: LiveWorker) -> None:
    async with aiohttp.ClientSession(headers=worker.headers) as http:
        running = await _first_chunk(http, worker.url)  # holds the engine
        waiting = asyncio.create_task(http.post(worker.url + "/v1/completions", json=SHORT))  # the one waiter
        await asyncio.sleep(0.5)
        started = time.monotonic()
        async with http.post(worker.url + "/v1/completions", json=SHORT) as refused:
            assert refused.status == 503
            assert refused.headers["Retry-After"] == "1"
            body = await refused.json()
        assert time.monotonic() - started < 2
        assert body["error"]["code"] == "queue_full"
        running.close()  # frees the engine; the waiter is served next
        served = await asyncio.wait_for(waiting, timeout=10)
        assert served.status == 200 and (await served.json())["choices"][0]["finish_reason"] == "length"


async def test_non_streaming_disconnect_also_stops(worker: LiveWorker) -> None:
    body = {**LONG, "stream": False}
    async with aiohttp.ClientSession(headers=worker.headers) as http:
        with pytest.raises(asyncio.TimeoutError):
            async with asyncio.timeout(1.5):
                await http.post(worker.url + "/v1/completions", json=body)
    await asyncio.sleep(0.3)
    started = time.monotonic()
    async with (
        aiohttp.ClientSession(headers=worker.headers) as http,
        http.post(worker.url + "/v1/completions", json=SHORT) as answer,
    ):
        assert answer.status == 200
    assert time.monotonic() - started < 5
