"""Saved prompt states on the real llama.cpp engine: a prefix seen before is restored, and answers the same."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from modelport.engines.base import EngineOptions, GenerationRequest, TextDelta
from modelport.engines.prompt_cache import common_prefix
from tests.worker.live import require_ready

MODEL = "smollm2-135m-instruct"


def _system(salt: str) -> str:
    return f"Session {salt}.\n" + "\n".join(f"Rule {i}: answer questions on topic {i} briefly." for i in range(20))


def _ask(engine: object, system: str, question: str) -> str:
    messages = ({"role": "system", "content": system}, {"role": "user", "content": question})
    request = GenerationRequest(messages=messages, max_tokens=6, temperature=0.0)
    events = engine.chat(request, threading.Event())  # type: ignore[attr-defined]
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def _engine(cache_mb: int) -> object:
    from modelport.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(EngineOptions(model=MODEL, extra={"prompt_cache_mb": str(cache_mb), "n_ctx": "1024"}))
    engine.load()
    return engine


def test_common_prefix() -> None:
    a = np.array([1, 2, 3, 4], dtype=np.intc)
    assert common_prefix(a, np.array([1, 2, 9], dtype=np.intc)) == 2
    assert common_prefix(a, a[:3]) == 3 and common_prefix(a, a[:0]) == 0


def test_an_evicted_prefix_comes_back_from_the_cache_with_the_same_answer() -> None:
    require_ready(MODEL)
    pytest.importorskip("llama_cpp")
    engine = _engine(64)
    cache = engine.prompt_cache  # type: ignore[attr-defined]
    first, other = _system("alpha"), _system("beta")
    _ask(engine, first, "What is rule 3?")
    live = _ask(engine, first, "What is rule 3?")  # the context's own prefix reuse
    _ask(engine, other, "What is rule 3?")  # replaces the context's tokens
    assert cache.hits == 0 and len(cache) >= 2  # a state per prefix (the second turn replaced the first)
    restored = _ask(engine, first, "What is rule 3?")
    assert cache.hits == 1 and restored == live
    assert 0 < cache.size <= cache.capacity_bytes


def test_a_cache_too_small_for_a_state_keeps_none() -> None:
    require_ready(MODEL)
    pytest.importorskip("llama_cpp")
    engine = _engine(1)  # a ~250-token state is several MB
    _ask(engine, _system("gamma"), "Hi")
    assert len(engine.prompt_cache) == 0  # type: ignore[attr-defined]
