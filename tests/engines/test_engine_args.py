"""Engine args: each built-in engine declares what it takes; anything else is a 400 at deploy time."""

from __future__ import annotations

import pytest

from modelport.engines import ENGINE_NAMES
from modelport.engines.args import (
    DEFAULT_MAX_CONTEXT,
    ENGINE_ARGS,
    parse_engine_args,
    validate_engine_args,
    worker_engine_args,
)
from modelport.errors import BadRequest


def test_every_built_in_engine_declares_its_args() -> None:
    assert set(ENGINE_ARGS) == set(ENGINE_NAMES)
    for engine, args in ENGINE_ARGS.items():
        names = [arg.name for arg in args]
        assert "threads" in names and "max_queue" in names, engine
        assert len(names) == len(set(names)), engine


def test_values_are_typed_and_defaults_filled() -> None:
    args = parse_engine_args("llama.cpp", {"n_ctx": "16384", "embedding": "true", "threads": "2"})
    assert args["n_ctx"] == 16384 and args["embedding"] is True and args["threads"] == 2
    assert args["n_batch"] == 512 and args["pooling"] is None
    assert parse_engine_args("llama.cpp", {})["n_ctx"] is None  # the model's training context, capped
    assert DEFAULT_MAX_CONTEXT >= 8192  # Claude Code's first request is ~7,600 tokens
    assert parse_engine_args("diffusers", {"size": "768x512", "device": "cuda:1"})["size"] == "768x512"


def test_queues_are_sized_per_engine() -> None:
    queue = {engine: parse_engine_args(engine, {})["max_queue"] for engine in ENGINE_ARGS}
    assert queue["onnx-embeddings"] == queue["e5"] == 512  # as TEI's max_concurrent_requests
    assert queue["llama.cpp"] < queue["onnx-embeddings"]
    assert parse_engine_args("onnx-embeddings", {"max_queue": "2000"})["max_queue"] == 2000


def test_unknown_arg_is_a_400_that_lists_what_the_engine_takes() -> None:
    with pytest.raises(BadRequest) as caught:
        validate_engine_args("onnx-embeddings", {"n_ctx": "4096"})
    assert caught.value.status == 400 and caught.value.param == "engine_args"
    assert "n_ctx" in caught.value.message and "max_batch_tokens" in caught.value.message


@pytest.mark.parametrize(
    ("engine", "key", "value"),
    [
        ("llama.cpp", "n_ctx", "big"),
        ("llama.cpp", "n_ctx", "-1"),
        ("llama.cpp", "embedding", "maybe"),
        ("llama.cpp", "pooling", "max"),
        ("onnx-embeddings", "threads", "0"),
        ("e5", "input_type", "document!"),
        ("faster-whisper", "beam_size", "2.5"),
        ("diffusers", "size", "large"),
        ("diffusers", "device", "tpu"),
        ("diffusers", "strength", "2"),
        ("onnx-embeddings", "startup_timeout", "soon"),
    ],
)
def test_ill_typed_values_are_400s(engine: str, key: str, value: str) -> None:
    with pytest.raises(BadRequest) as caught:
        validate_engine_args(engine, {key: value})
    assert key in caught.value.message and value in caught.value.message


def test_gateway_args_are_accepted_but_never_reach_the_engine() -> None:
    given = {"startup_timeout": "30", "restart_backoff": "0.5", "top_k": "false", "n_ctx": "4096"}
    validate_engine_args("llama.cpp", given)
    assert "startup_timeout" not in parse_engine_args("llama.cpp", given)
    assert worker_engine_args(given) == {"n_ctx": "4096"}
