"""Continuous batching on a real llama.cpp worker: concurrent streams decode together and stay exact.

Ordering, not timing, shows that a request joins the running batch: it completes while a long stream that
started before it is still sending tokens.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.worker.live import LiveWorker, require_ready

MODEL = "smollm2-135m-instruct"
# SmolLM2 counts on and on at temperature 0: a stream that runs until max_tokens (tens of seconds here).
LONG = {"model": MODEL, "prompt": "Count from 1 to 1000: 1, 2, 3, 4,", "max_tokens": 1500, "temperature": 0,
        "stream": True}  # fmt: skip


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    require_ready(MODEL)
    log_dir = Path(tmp_path_factory.mktemp("batching"))
    with LiveWorker("llama.cpp", MODEL, log_dir, "--engine-arg", "parallel=4", "--engine-arg", "n_ctx=2048") as live:
        yield live


def _question(i: int) -> dict[str, Any]:
    return {
        "model": MODEL, "temperature": 0, "max_tokens": 24, "stream": True,
        "messages": [{"role": "user", "content": f"Tell me one fact about the number {i}."}],
    }  # fmt: skip


async def _stream_text(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> tuple[str, str]:
    """The streamed chat text and its finish_reason."""
    text, finish = "", ""
    async with http.post(url + "/v1/chat/completions", json=body) as response:
        assert response.status == 200, await response.text()
        async for line in response.content:
            if not line.startswith(b"data: {"):
                continue
            choice = json.loads(line[6:])["choices"][0]
            text += choice["delta"].get("content") or ""
            finish = choice.get("finish_reason") or finish
    return text, finish


class LongStream:
    """A long completion stream read to its end in the background (so its end is seen when it comes)."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url = http, url
        self.chunks = 0
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> LongStream:
        """Open the stream and wait for its first chunk."""
        response = await self.http.post(self.url + "/v1/completions", json=LONG)
        assert response.status == 200
        assert (await response.content.readline()).startswith(b"data: ")
        self.task = asyncio.create_task(self._drain(response))
        return self

    async def _drain(self, response: aiohttp.ClientResponse) -> None:
        async with response:
            async for line in response.content:
                self.chunks += line.startswith(b"data: ")

    @property
    def running(self) -> bool:
        """Whether tokens are still coming."""
        return self.task is not None and not self.task.done()

    async def hang_up(self) -> None:
        """Close the connection mid-stream."""
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def test_eight_concurrent_streams_give_the_text_each_gives_alone(worker: LiveWorker) -> None:
    async with aiohttp.ClientSession(headers=worker.headers) as http:
        alone = [await _stream_text(http, worker.url, _question(i)) for i in range(8)]
        together = await asyncio.gather(*(_stream_text(http, worker.url, _question(i)) for i in range(8)))
    assert all(text for text, _ in alone)
    assert list(together) == alone


async def test_a_new_request_joins_while_a_long_stream_runs(worker: LiveWorker) -> None:
    async with aiohttp.ClientSession(headers=worker.headers) as http:
        long = await LongStream(http, worker.url).start()
        text, finish = await _stream_text(http, worker.url, _question(3))
        assert text and finish == "length"
        assert long.running, "the long stream had already ended: nothing ran alongside it"
        await long.hang_up()


async def test_a_cancelled_stream_frees_its_slot(worker: LiveWorker) -> None:
    async with aiohttp.ClientSession(headers=worker.headers) as http:
        longs = [await LongStream(http, worker.url).start() for _ in range(4)]  # every slot busy
        await longs[0].hang_up()  # its slot must come free at once, not when it would have ended
        text, _ = await _stream_text(http, worker.url, _question(5))
        assert text
        assert all(long.running for long in longs[1:])
        for long in longs[1:]:
            await long.hang_up()
