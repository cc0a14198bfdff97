"""The llama.cpp engine's defaults for what a request does not set: `max_tokens` (llama-server's `-n`),
`temperature` and `top_p` (Ollama's Modelfile parameters)."""

from __future__ import annotations

import threading

from modelport.engines import EngineOptions, create_engine
from modelport.engines.base import GenerationRequest
from tests.worker.live import require_ready

MODEL = "smollm2-135m-instruct"
COUNTING = ({"role": "user", "content": "Count from 1 to 200, one number a line."},)


def _finish(engine: object, max_tokens: int | None, temperature: float | None = 0) -> tuple[str, int]:
    request = GenerationRequest(messages=COUNTING, max_tokens=max_tokens, temperature=temperature)
    last = list(engine.chat(request, threading.Event()))[-1]  # type: ignore[attr-defined]
    return last.finish_reason, last.completion_tokens


def test_a_request_without_max_tokens_stops_at_the_engine_cap_and_one_with_it_keeps_its_own() -> None:
    require_ready(MODEL)
    engine = create_engine("llama.cpp", EngineOptions(MODEL, extra={"max_tokens": "6", "parallel": "1"}))
    engine.load()
    assert _finish(engine, None) == ("length", 6)
    assert _finish(engine, 7) == ("length", 7)  # the request's own limit wins, above the cap too


def _text(engine: object, seed: int, temperature: float | None) -> str:
    request = GenerationRequest(messages=COUNTING, max_tokens=12, temperature=temperature, seed=seed)
    return "".join(getattr(e, "text", "") for e in engine.chat(request, threading.Event()))  # type: ignore[attr-defined]


def test_a_request_without_a_temperature_samples_at_the_engine_default() -> None:
    require_ready(MODEL)
    engine = create_engine("llama.cpp", EngineOptions(MODEL, extra={"temperature": "0", "parallel": "1"}))
    engine.load()
    greedy = _text(engine, 1, 0.0)
    assert [_text(engine, seed, None) for seed in (1, 2, 3)] == [greedy] * 3  # the default: greedy, any seed
    assert {_text(engine, seed, 1.5) for seed in (1, 2, 3)} != {greedy}  # the request's own still wins
