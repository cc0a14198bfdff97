"""The llama.cpp context: by default the model's training context (capped), else the `n_ctx` engine arg."""

from __future__ import annotations

import threading

import pytest

from modelport.engines import EngineOptions, create_engine
from modelport.engines.args import DEFAULT_MAX_CONTEXT
from modelport.engines.base import Engine, GenerationRequest, InvalidEngineInput
from modelport.engines.catalog import find_entry
from tests.worker.live import require_ready

MODEL = "smollm2-135m-instruct"


def _engine(**extra: str) -> Engine:
    require_ready(MODEL)
    engine = create_engine("llama.cpp", EngineOptions(MODEL, extra=extra))
    engine.load()
    return engine


def _chat(words: int) -> GenerationRequest:
    content = " ".join(f"w{i % 10}" for i in range(words))
    return GenerationRequest(messages=({"role": "user", "content": content},), max_tokens=1, temperature=0)


def test_default_context_is_the_training_context() -> None:
    engine = _engine()
    trained = int(engine._llama._model.n_ctx_train())  # type: ignore[attr-defined]
    assert engine.max_model_len == min(trained, DEFAULT_MAX_CONTEXT) == 8192  # SmolLM2 was trained on 8,192
    entry = find_entry(MODEL)
    assert entry is not None and "8,192 tokens" in entry.card  # what `modelport models -v` says
    assert len(engine.tokenize(None, _chat(3000).messages)) > 2048  # the old default refused this


def test_n_ctx_above_the_default_takes_effect() -> None:
    engine = _engine(n_ctx="10240")
    assert engine.max_model_len == 10240
    longer = _chat(4400)  # ~8,800 tokens: more than the default context holds
    assert DEFAULT_MAX_CONTEXT < len(engine.tokenize(None, longer.messages)) < 10240
    engine.chat(longer, threading.Event()).close()  # accepted (evaluating it takes minutes on these CPUs)
    with pytest.raises(InvalidEngineInput, match="maximum context length is 10240 tokens"):
        engine.chat(_chat(5600), threading.Event())


def test_n_ctx_below_the_default_refuses_what_the_default_would_take() -> None:
    engine = _engine(n_ctx="1024")
    assert engine.max_model_len == 1024
    with pytest.raises(InvalidEngineInput, match="maximum context length is 1024 tokens"):
        engine.chat(_chat(700), threading.Event())
    events = list(engine.chat(_chat(100), threading.Event()))
    assert events[-1].prompt_tokens > 100  # type: ignore[union-attr]


def test_n_ctx_zero_is_the_whole_training_context() -> None:
    assert _engine(n_ctx="0").max_model_len == 8192
