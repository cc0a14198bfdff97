"""The llama.cpp `max_tokens` engine arg: the output cap of a request that sets none (llama-server's `-n`)."""

from __future__ import annotations

import threading

from modelport.engines import EngineOptions, create_engine
from modelport.engines.base import GenerationRequest
from tests.worker.live import require_ready

MODEL = "smollm2-135m-instruct"
COUNTING = ({"role": "user", "content": "Count from 1 to 200, one number a line."},)


def _finish(engine: object, max_tokens: int | None) -> tuple[str, int]:
    request = GenerationRequest(messages=COUNTING, max_tokens=max_tokens, temperature=0)
    last = list(engine.chat(request, threading.Event()))[-1]  # type: ignore[attr-defined]
    return last.finish_reason, last.completion_tokens


def test_a_request_without_max_tokens_stops_at_the_engine_cap_and_one_with_it_keeps_its_own() -> None:
    require_ready(MODEL)
    engine = create_engine("llama.cpp", EngineOptions(MODEL, extra={"max_tokens": "6", "parallel": "1"}))
    engine.load()
    assert _finish(engine, None) == ("length", 6)
    assert _finish(engine, 7) == ("length", 7)  # the request's own limit wins, above the cap too
