"""What a request reserves against token limits at admission: its prompt, estimated from the text it
carries (about four characters a token), plus the most it may generate (`max_tokens`,
`max_completion_tokens` or `max_output_tokens`, else its deployment's default: `output_reservation`).
Settlement replaces it with the count the answer reports, so an estimate errs on the high side."""

from __future__ import annotations

from typing import Any

import msgspec

from modelport.records import DeploymentSpec

DEFAULT_MAX_TOKENS = 1024  # reserved for a generating request that does not say how much it may generate
#: The gateway arg (`engines.args.GATEWAY_ARGS`) that sets it for one deployment of any engine.
RESERVE_ARG = "reserve_output_tokens"
#: The built-in llama.cpp engine's output cap for a request that sets none (llama-server's `-n`): what such a
#: request can generate there, so what it reserves.
ENGINE_CAP_ARG = "max_tokens"
ENGINE_CAP_ENGINES = frozenset({"llama.cpp"})
GENERATING = frozenset({"/v1/chat/completions", "/v1/completions", "/v1/messages", "/v1/responses"})
TOKEN_BILLED = GENERATING | {"/v1/embeddings", "/v1/rerank", "/v2/rerank"}  # the rest reserve no tokens
_TEXT_FIELDS = ("messages", "prompt", "input", "system", "instructions", "query", "documents", "tools")
_BINARY_KEYS = frozenset({"image_url", "url", "data", "b64_json", "file_data", "input_audio", "source"})
_MAX_DEPTH = 32
CHARS_PER_TOKEN = 4


class _Fields(msgspec.Struct):
    model: Any = None
    max_tokens: Any = None
    max_completion_tokens: Any = None
    max_output_tokens: Any = None
    messages: Any = None
    prompt: Any = None
    input: Any = None
    system: Any = None
    instructions: Any = None
    query: Any = None
    documents: Any = None
    tools: Any = None


class _Model(msgspec.Struct):
    model: Any = None


class Estimate(msgspec.Struct, frozen=True):
    """A request's model (None when its body names none), its prompt's tokens, and the output tokens it
    says it may generate (None: a generating request that does not say, so its deployment's default)."""

    model: str | None
    prompt: int
    output: int | None = 0

    def tokens(self, default_output: int = DEFAULT_MAX_TOKENS) -> int:
        """What the request reserves, `default_output` standing for an output it does not state."""
        return self.prompt + (default_output if self.output is None else self.output)


def estimate(endpoint: str, body: bytes | None) -> Estimate:
    """The reservation of a request to `endpoint` with this JSON body (None: not a JSON body). A body that
    does not decode reserves nothing: its handler answers 400."""
    if body is None:
        return Estimate(None, 0)
    if endpoint not in TOKEN_BILLED:
        return Estimate(_model(body), 0)
    try:
        fields = msgspec.json.decode(body, type=_Fields)
    except (msgspec.DecodeError, RecursionError):
        return Estimate(None, 0)
    chars = sum(_text_length(getattr(fields, name), 0) for name in _TEXT_FIELDS)
    prompt = -(-chars // CHARS_PER_TOKEN)
    output: int | None = 0
    if endpoint in GENERATING:
        output = next((count for value in (fields.max_completion_tokens, fields.max_tokens, fields.max_output_tokens)
                       if (count := _count(value)) is not None), None)
    model = fields.model if isinstance(fields.model, str) else None
    return Estimate(model, prompt, output)


def output_reservation(spec: DeploymentSpec | None) -> int:
    """What a generating request to the deployment `spec` (None: none found) reserves for its output when it
    does not say: the built-in llama.cpp engine's own cap (`max_tokens`) where the deployment sets one, else
    the deployment's `reserve_output_tokens`, else `DEFAULT_MAX_TOKENS`. Both are checked at deploy time; a
    value stored otherwise that does not parse is passed over."""
    if spec is None:
        return DEFAULT_MAX_TOKENS
    args = spec.engine_args
    engine_runs_here = spec.engine in ENGINE_CAP_ENGINES and not spec.command and not spec.urls
    for name in ((ENGINE_CAP_ARG, RESERVE_ARG) if engine_runs_here else (RESERVE_ARG,)):
        raw = args.get(name)
        if raw is not None and raw.isdigit():
            return int(raw)
    return DEFAULT_MAX_TOKENS


def _model(body: bytes) -> str | None:
    try:
        fields = msgspec.json.decode(body, type=_Model)
    except (msgspec.DecodeError, RecursionError):
        return None
    return fields.model if isinstance(fields.model, str) else None


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return min(value, 2**40)
    return None


def _text_length(value: Any, depth: int) -> int:
    """Characters of text in a decoded JSON value, leaving out images, audio and files."""
    if isinstance(value, str):
        return len(value)
    if depth >= _MAX_DEPTH:
        return 0
    if isinstance(value, list):
        return sum(_text_length(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return sum(_text_length(item, depth + 1) for key, item in value.items() if key not in _BINARY_KEYS)
    return 0
