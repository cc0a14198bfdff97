"""engine-concurrency-rerank: 16 concurrent clients, each sending 10-document rerank requests back to back.

`modelport`: `/v1/rerank` through the gateway to its `e5-small-bi-encoder-rerank` instance (the worker
batches concurrent requests into one engine pass); `direct`: the e5 engine in this process scoring one
10-document request at a time. `rate` is documents scored per second; `errors` counts failed requests.
"""

from __future__ import annotations

import asyncio
import time

RERANK_MODEL = "e5-small-bi-encoder-rerank"
CLIENTS = 16
QUERY = "Which animal lives in the bamboo forests of China?"
DOCUMENTS = tuple(
    f"Document {i}: " + ("The giant panda eats bamboo in the mountains of Sichuan." if i % 3 == 0 else
                         f"Shipping container number {i} left the harbour on a cloudy Tuesday.")
    for i in range(10)
)  # fmt: skip


def direct(seconds: float) -> dict[str, float]:
    """The engine in this process, one request at a time."""
    from modelport.engines.base import EngineOptions
    from modelport.engines.e5 import E5Engine

    engine = E5Engine(EngineOptions(model=RERANK_MODEL, threads=1))
    engine.load()
    engine.rerank(QUERY, DOCUMENTS)  # warm-up
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        engine.rerank(QUERY, DOCUMENTS)
        done += len(DOCUMENTS)
    elapsed = time.perf_counter() - started
    return {"rate": done / elapsed, "seconds": elapsed}


async def _clients(url: str, key: str, seconds: float) -> tuple[int, int, float]:
    import aiohttp

    done, failed = 0, 0
    deadline = time.perf_counter() + seconds
    body = {"model": RERANK_MODEL, "query": QUERY, "documents": list(DOCUMENTS)}

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal done, failed
        while time.perf_counter() < deadline:
            async with http.post(url + "/rerank", json=body) as reply:
                data = await reply.json()
                if reply.status == 200 and len(data["results"]) == len(DOCUMENTS):
                    done += len(DOCUMENTS)
                else:
                    failed += 1

    started = time.perf_counter()
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"},
                                     connector=aiohttp.TCPConnector(limit=0)) as http:
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
    return done, failed, time.perf_counter() - started


def gateway(seconds: float, url: str, key: str) -> dict[str, float]:
    """`CLIENTS` concurrent clients through the gateway."""
    asyncio.run(_clients(url, key, 1.0))  # warm-up
    done, failed, elapsed = asyncio.run(_clients(url, key, seconds))
    return {"rate": done / elapsed, "errors": failed, "seconds": elapsed}
