"""Prefix reuse on the real llama.cpp engine: a slot's KV cells serve the next prompt that shares them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from modelport.engines.base import EngineOptions, GenerationRequest, TextDelta
from tests.worker.live import require_ready

MODEL = "smollm2-135m-instruct"


def _system(salt: str) -> str:
    return f"Session {salt}.\n" + "\n".join(f"Rule {i}: answer questions on topic {i} briefly." for i in range(20))


def _ask(engine: Any, system: str, question: str) -> str:
    messages = ({"role": "system", "content": system}, {"role": "user", "content": question})
    request = GenerationRequest(messages=messages, max_tokens=6, temperature=0.0)
    return "".join(e.text for e in engine.chat(request, threading.Event()) if isinstance(e, TextDelta))


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    require_ready(MODEL)
    pytest.importorskip("llama_cpp")
    from modelport.engines.llamacpp import LlamaCppEngine

    loaded = LlamaCppEngine(EngineOptions(model=MODEL, extra={"n_ctx": "1024", "parallel": "2"}))
    loaded.load()
    yield loaded
    loaded.close()


def test_a_second_turn_reads_only_what_is_new(engine: Any) -> None:
    system = _system("alpha")
    prefix = len(engine.tokenize(None, [{"role": "system", "content": system}]))
    before = engine.decoder.reused_tokens
    _ask(engine, system, "What is rule 3?")
    first = engine.decoder.reused_tokens - before
    _ask(engine, system, "And rule 4?")
    second = engine.decoder.reused_tokens - before - first
    assert first < prefix // 2  # a fresh prefix is computed
    assert second >= prefix - 8  # the system prompt came from the slot (the template may end it differently)


def test_two_alternating_prefixes_each_keep_a_slot(engine: Any) -> None:
    one, other = _system("beta"), _system("gamma")
    _ask(engine, one, "What is rule 3?")
    again = _ask(engine, one, "What is rule 3?")
    _ask(engine, other, "What is rule 3?")  # takes the other slot, leaving the first one's cells alone
    before = engine.decoder.reused_tokens
    back = _ask(engine, one, "What is rule 3?")
    question = len(engine.tokenize(None, [{"role": "system", "content": one}, {"role": "user", "content": "x"}]))
    assert engine.decoder.reused_tokens - before >= question - 8
    assert back == again  # the same cells and the same last token read: the same answer


def test_a_batch_llama_cpp_refuses_fails_its_sequence_and_the_decoder_goes_on(engine: Any) -> None:
    from modelport.engines.llamacpp_decoder import DecodeFailed
    from modelport.engines.llamacpp_sampling import Sampling

    bad = engine.decoder.prepare([1, 10**8], 4, Sampling(temperature=0.0), threading.Event())  # no such token
    engine.decoder.start(bad)
    with pytest.raises(DecodeFailed):
        list(bad)
    assert _ask(engine, _system("delta"), "What is rule 1?")
