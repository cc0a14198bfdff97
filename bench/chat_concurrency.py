"""engine-concurrency-chat: aggregate chat tokens/s and time to first token at concurrency 1, 4, 8 and 16.

Every client sends the same kind of request (a different question each, 64 tokens at temperature 0)
back to back for `seconds` at each level. Three rows side by side:
- `direct`: the llama.cpp engine in this process, as the worker loads it (`parallel` slots, 1 thread),
  each client on its own thread;
- `serial`: the same engine with one slot (`parallel=1`): how built-in engines served before continuous
  batching (one inference at a time, the others wait);
- `shipped`: the engine on the weights as the package ships them (Q4_1; the catalog's default runs a Q8_0
  copy, `weights_type`);
- `modelport`: streamed requests through the gateway to its default `smollm2-135m-instruct` instance.
Figures per level: `rate_cN` (generated tokens/s, all clients together), `ttft_p50_cN` / `ttft_p99_cN`
(ms); `rate` is the rate at 8 and `scale` rate at 8 / rate at 1 (target >= 2.5).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from bench.engines import CHAT_MODEL, chat_engine

LEVELS = (1, 4, 8, 16)
MAX_TOKENS = 64

Ask = Callable[[int], tuple[int, float]]  # question number -> (tokens generated, seconds to first token)


def _question(n: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Write a short paragraph about invention number {n}."}]


def _summary(results: dict[int, tuple[int, list[float], float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for level, (tokens, ttfts, elapsed) in results.items():
        ttfts.sort()
        out[f"rate_c{level}"] = tokens / elapsed
        out[f"ttft_p50_c{level}"] = statistics.median(ttfts) * 1000 if ttfts else 0.0
        out[f"ttft_p99_c{level}"] = ttfts[min(len(ttfts) - 1, int(len(ttfts) * 0.99))] * 1000 if ttfts else 0.0
    out["rate"] = out["rate_c8"]
    out["scale"] = out["rate_c8"] / out["rate_c1"]
    return out


def _threaded_level(ask: Ask, level: int, seconds: float) -> tuple[int, list[float], float]:
    """`level` threads asking back to back for `seconds`: (tokens, first-token times, elapsed)."""
    tokens, ttfts, lock = [0], [], threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(who: int) -> None:
        n = who
        while time.perf_counter() < deadline:
            count, first = ask(n)
            n += level
            with lock:
                tokens[0] += count
                ttfts.append(first)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(who,)) for who in range(level)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tokens[0], ttfts, time.perf_counter() - started


def _threaded(ask: Ask, seconds: float) -> dict[str, float]:
    ask(0)  # warm-up
    return _summary({level: _threaded_level(ask, level, seconds) for level in LEVELS})


def direct(seconds: float, parallel: int | None = None, weights_type: str | None = None) -> dict[str, float]:
    """The engine in this process; `parallel=1` for the serial engine of before, `weights_type="file"` for
    the shipped weights."""
    from modelport.engines.base import GenerationRequest, TextDelta

    extra = {} if parallel is None else {"parallel": str(parallel)}
    if weights_type is not None:
        extra["weights_type"] = weights_type
    engine = chat_engine(extra)

    def ask(n: int) -> tuple[int, float]:
        request = GenerationRequest(messages=tuple(_question(n)), max_tokens=MAX_TOKENS, temperature=0.0)
        started, first, count = time.perf_counter(), 0.0, 0
        for event in engine.chat(request, threading.Event()):
            if isinstance(event, TextDelta) and event.n_tokens:
                first = first or time.perf_counter() - started
                count += event.n_tokens
        return count, first

    try:
        return {**_threaded(ask, seconds), "parallel": float(engine.concurrency)}
    finally:
        engine.close()


async def _gateway_level(url: str, key: str, level: int, seconds: float) -> tuple[int, list[float], float]:
    import aiohttp

    tokens, ttfts = 0, []
    deadline = time.perf_counter() + seconds

    async def client(http: aiohttp.ClientSession, who: int) -> None:
        nonlocal tokens
        n = who
        while time.perf_counter() < deadline:
            body: dict[str, Any] = {"model": CHAT_MODEL, "messages": _question(n), "max_tokens": MAX_TOKENS,
                                    "temperature": 0, "stream": True, "stream_options": {"include_usage": True}}
            n += level
            started, first = time.perf_counter(), 0.0
            async with http.post(url + "/chat/completions", json=body) as reply:
                if reply.status != 200:
                    raise RuntimeError(f"HTTP {reply.status}: {(await reply.read())[:300]!r}")
                async for line in reply.content:
                    if not line.startswith(b"data: {"):
                        continue
                    chunk = json.loads(line[6:])
                    if chunk.get("usage"):
                        tokens += int(chunk["usage"]["completion_tokens"])
                    elif not first and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                        first = time.perf_counter() - started
            ttfts.append(first)

    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}, connector=connector) as http:
        await asyncio.gather(*(client(http, who) for who in range(level)))
    return tokens, ttfts, time.perf_counter() - started


def gateway(seconds: float, url: str, key: str) -> dict[str, float]:
    """Streamed requests through the gateway at each level."""
    asyncio.run(_gateway_level(url, key, 1, 1.0))  # warm-up
    return _summary({level: asyncio.run(_gateway_level(url, key, level, seconds)) for level in LEVELS})
