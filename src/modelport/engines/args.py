"""The engine args each built-in engine takes (`--engine-arg KEY=VALUE`), with their types and ranges.

A deployment's `engine_args` are strings. For a built-in engine every key must be one this table
declares for that engine, or one of the gateway's own (`GATEWAY_ARGS`, read by the gateway and never
passed to the worker); `validate_engine_args` refuses anything else with a 400 at deploy time, and the
worker parses the same strings with `parse_engine_args` into typed values with the defaults filled in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from modelport.engines.llamacpp_weights import WEIGHTS_TYPES
from modelport.errors import BadRequest

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

#: Largest context llama.cpp gets unless a deployment asks for more (`n_ctx`): the model's training
#: context when it is smaller. SmolLM2-135M was trained on 8,192 tokens (its GGUF's context_length);
#: its KV cache at that size is ~190 MB. Claude Code's first request is ~7,600 tokens.
DEFAULT_MAX_CONTEXT = 8192
#: Sequences a llama.cpp instance decodes together, each with a KV cache of the whole context (SmolLM2 at
#: 8,192 tokens: ~190 MB each; `kv_type=q8_0` halves it). Concurrency 8 needs 8 slots to batch all of its
#: requests (bench engine-concurrency-chat: tokens/s at 8 vs at 1).
DEFAULT_PARALLEL = 8


@dataclass(frozen=True)
class EngineArg:
    """One engine arg: its name, type (`int`, `float`, `bool`, `str`), default, range or choices."""

    name: str
    type: type
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    pattern: str | None = None  # a regular expression the whole value must match
    shape: str = ""  # how a `pattern` value is written, e.g. "WxH"

    def describe(self) -> str:
        """`name (int 1-256, default 1)`: how the arg is written, for error messages and help."""
        if self.choices:
            kind = "|".join(self.choices)
        elif self.pattern:
            kind = self.shape
        else:
            kind = self.type.__name__
            if self.low is not None and self.high is not None:
                kind += f" {_number(self.low)}-{_number(self.high)}"
        shown = str(self.default).lower() if isinstance(self.default, bool) else self.default
        default = "" if self.default is None else f", default {shown}"
        return f"{self.name} ({kind}{default})"

    def parse(self, raw: str) -> Any:
        """The typed value of `raw`; raises ValueError saying what is expected."""
        value: Any
        if self.type is bool:
            if raw.lower() not in _TRUE + _FALSE:
                raise ValueError("expected true or false")
            return raw.lower() in _TRUE
        if self.choices:
            if raw not in self.choices:
                raise ValueError(f"expected one of {', '.join(self.choices)}")
            return raw
        if self.pattern:
            if not re.fullmatch(self.pattern, raw):
                raise ValueError(f"expected {self.shape}")
            return raw
        if self.type is str:
            return raw
        try:
            value = self.type(raw)
        except ValueError:
            raise ValueError(f"expected {'an integer' if self.type is int else 'a number'}") from None
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise ValueError(f"expected {_number(self.low)} to {_number(self.high)}")
        return value


def _number(value: float | None) -> str:
    """1000000 as "1000000", 0.01 as "0.01" (never 1e+06)."""
    return str(int(value)) if value is not None and float(value).is_integer() else str(value)


def _threads() -> EngineArg:
    return EngineArg("threads", int, 1, "CPU threads for inference", 1, 256)


def _queue(default: int) -> EngineArg:
    return EngineArg("max_queue", int, default, "requests that may wait; more get 503 + Retry-After", 0, 100_000)


def _batching(max_tokens: int) -> tuple[EngineArg, ...]:
    return (
        EngineArg("max_batch_tokens", int, max_tokens, "estimated tokens one engine batch gathers", 1, 1_000_000),
        EngineArg("max_batch_requests", int, 64, "requests one engine batch gathers", 1, 4096),
        EngineArg("batch_wait_ms", float, 2.0, "how long an idle engine waits for more requests", 0, 1000),
    )


#: Per built-in engine, the args it takes (`threads` and `max_queue` are the worker's own flags).
ENGINE_ARGS: Mapping[str, tuple[EngineArg, ...]] = MappingProxyType(
    {
        "llama.cpp": (
            _threads(),
            _queue(32),
            EngineArg("n_ctx", int, None, "context tokens (0: the model's training context;"
                      f" default: that, at most {DEFAULT_MAX_CONTEXT})", 0, 1_048_576),
            EngineArg("n_batch", int, 512, "prompt tokens per llama.cpp decode call", 1, 1_048_576),
            EngineArg("embedding", bool, False, "serve /v1/embeddings from an embedding GGUF"),
            EngineArg("pooling", str, None, "pooling of embedding GGUFs (rank: reranker GGUFs)",
                      choices=("mean", "cls", "last", "rank")),
            EngineArg("parallel", int, DEFAULT_PARALLEL, "sequences decoded together (continuous batching)",
                      1, 256),
            EngineArg("max_tokens", int, None, "output tokens of a request that sets none (llama-server's -n;"
                      " default: up to the context)", 1, 1_048_576),
            EngineArg("temperature", float, 1.0, "sampling temperature of a request that sets none", 0, 2),
            EngineArg("top_p", float, 1.0, "top-p of a request that sets none", 0, 1),
            EngineArg("kv_type", str, "f16", "KV cache type (q8_0: half the memory, prompts read ~2x slower)",
                      choices=("f16", "q8_0")),
            EngineArg("weights_type", str, "file", "weights type to run: the GGUF's own (file), or a copy"
                      " converted once into the cache (engines.llamacpp_weights)", choices=WEIGHTS_TYPES),
            *_batching(16_384),
        ),
        "onnx-embeddings": (
            _threads(),
            _queue(512),
            EngineArg("batch_size", int, 32, "rows per onnxruntime call (length-sorted)", 1, 1024),
            *_batching(16_384),
        ),
        "e5": (
            _threads(),
            _queue(512),
            EngineArg("input_type", str, "query", "prefix of embeddings without input_type",
                      choices=("query", "passage")),
            *_batching(16_384),
        ),
        "piper": (_threads(), _queue(32)),
        "faster-whisper": (
            _threads(),
            _queue(32),
            EngineArg("compute_type", str, "int8", "CTranslate2 weights type",
                      choices=("default", "auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16",
                               "int16", "float16", "bfloat16", "float32")),
            EngineArg("beam_size", int, 5, "beam search width", 1, 20),
        ),
        "diffusers": (
            _threads(),
            _queue(8),
            EngineArg("steps", int, 25, "denoising steps", 1, 1000),
            EngineArg("strength", float, 0.75, "how much an edit changes the image", 0, 1),
            EngineArg("guidance_scale", float, None, "classifier-free guidance", 0, 100),
            EngineArg("size", str, None, "default image size", pattern=r"\d{1,5}[xX]\d{1,5}", shape="WxH"),
            EngineArg("device", str, "cpu", "where to run", pattern=r"cpu|auto|cuda(:\d+)?",
                      shape="cpu|cuda|cuda:N|auto"),
            EngineArg("dtype", str, None, "weights type", choices=("float16", "bfloat16", "float32")),
        ),
    }
)

#: Args the gateway itself reads from any deployment; they never reach the engine.
GATEWAY_ARGS: tuple[EngineArg, ...] = (
    EngineArg("startup_timeout", float, 600.0, "seconds an instance may take to become healthy", 0.1, 86_400),
    EngineArg("restart_backoff", float, 1.0, "first delay before restarting a crashed instance", 0.01, 3600),
    EngineArg("top_k", bool, True, "whether the engine accepts top_k (Anthropic requests)"),
    EngineArg("api", str, None, "the API a remote rerank URL speaks", choices=("tei", "jina")),
    EngineArg("reserve_output_tokens", int, None, "output tokens a request without max_tokens reserves against"
              " token limits (default: llama.cpp's max_tokens when set, else 1024)", 0, 1_048_576),
)
_GATEWAY_NAMES = frozenset(arg.name for arg in GATEWAY_ARGS)


def _specs(engine: str) -> dict[str, EngineArg]:
    if engine not in ENGINE_ARGS:
        raise BadRequest(f"Unknown built-in engine `{engine}`.", param="engine")
    return {arg.name: arg for arg in ENGINE_ARGS[engine]}


def parse_engine_args(engine: str, args: Mapping[str, str]) -> dict[str, Any]:
    """Every arg of built-in `engine`, typed: the given ones parsed, the others at their defaults.

    Raises BadRequest (400, param `engine_args`) for a key the engine does not take or a bad value.
    Gateway args (`GATEWAY_ARGS`) are checked and left out.
    """
    specs = _specs(engine)
    gateway = {arg.name: arg for arg in GATEWAY_ARGS}
    values = {name: spec.default for name, spec in specs.items()}
    for key, raw in args.items():
        spec = specs.get(key) or gateway.get(key)
        if spec is None:
            takes = ", ".join(arg.describe() for arg in ENGINE_ARGS[engine])
            raise BadRequest(f"Engine `{engine}` takes no engine arg `{key}`; it takes: {takes}.",
                             param="engine_args")
        try:
            value = spec.parse(raw)
        except ValueError as exc:
            raise BadRequest(f"Engine arg `{key}={raw}` for `{engine}`: {exc}.", param="engine_args") from None
        if key in specs:
            values[key] = value
    return values


def validate_engine_args(engine: str, args: Mapping[str, str]) -> None:
    """Raise BadRequest (400) unless every arg is one built-in `engine` takes, with a valid value."""
    parse_engine_args(engine, args)


def worker_engine_args(args: Mapping[str, str]) -> dict[str, str]:
    """The args a built-in engine's worker gets: all but the gateway's own."""
    return {key: value for key, value in args.items() if key not in _GATEWAY_NAMES}
