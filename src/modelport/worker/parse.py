"""A worker's chat completions and completions bodies as engine records: decoding into the wire schema
(`protocols.openai_generation`) checks every field; what is left here relates fields to each other.

Pure functions, no engine or HTTP imports; bad input raises `BadRequest` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from modelport.engines.base import GenerationRequest
from modelport.errors import BadRequest
from modelport.protocols.openai_generation import ChatCompletionRequest, CompletionRequest, StreamOptions
from modelport.protocols.validation import decode_request
from modelport.worker import chat_parse


@dataclass(frozen=True)
class GenerationCall:
    """A parsed chat or completions request: one engine request per prompt, plus response options."""

    requests: tuple[GenerationRequest, ...]
    n: int
    stream: bool
    include_usage: bool


def _or(value: float | None, default: float) -> float:
    return default if value is None else float(value)


def _include_usage(options: StreamOptions | None, stream: bool) -> bool:
    if options is None:
        return False
    if not stream:
        raise BadRequest("'stream_options' is only allowed when 'stream' is true", param="stream_options")
    return bool(options.include_usage)


def _logprob_options(body: ChatCompletionRequest | CompletionRequest) -> tuple[bool, int]:
    """(wanted, how many alternatives): chat's `logprobs` + `top_logprobs`, or completions' `logprobs` count."""
    if isinstance(body, CompletionRequest):
        return body.logprobs is not None, body.logprobs or 0
    top = body.top_logprobs or 0
    if top and not body.logprobs:
        raise BadRequest("'top_logprobs' requires 'logprobs': true", param="top_logprobs")
    return bool(body.logprobs), top


def _common(body: ChatCompletionRequest | CompletionRequest) -> dict[str, Any]:
    """The engine request's fields that chat and completions share."""
    max_tokens = body.max_tokens if body.max_tokens is not None else body.max_completion_tokens
    if max_tokens is None and isinstance(body, CompletionRequest):
        max_tokens = 16  # OpenAI's default for completions; chat runs to the end of the context
    logprobs, top_logprobs = _logprob_options(body)
    stop = body.stop if body.stop is not None else ()
    return {
        "max_tokens": max_tokens,
        "temperature": body.temperature,  # None: the engine's default (its engine arg, else 1.0)
        "top_p": body.top_p,
        "stop": (stop,) if isinstance(stop, str) else tuple(stop),
        "seed": None if body.seed is None else body.seed & 0x7FFFFFFF,
        "presence_penalty": _or(body.presence_penalty, 0.0),
        "frequency_penalty": _or(body.frequency_penalty, 0.0),
        "logprobs": logprobs,
        "top_logprobs": top_logprobs,
        "response_format": None if body.response_format is None else msgspec.to_builtins(body.response_format),
    }


def _chat_request(body: ChatCompletionRequest, common: dict[str, Any]) -> GenerationRequest:
    messages = chat_parse.chat_messages(body.messages)
    tools = chat_parse.tools(body.tools)
    choice, name = chat_parse.tool_choice(body.tool_choice, tools)
    continue_final = chat_parse.continue_final(body.continue_final_message, body.add_generation_prompt, messages)
    return GenerationRequest(messages=messages, tools=tools, tool_choice=choice, tool_name=name,
                             continue_final=continue_final, **common)


def generation_call(raw: bytes, *, chat: bool) -> GenerationCall:
    """Validate a /v1/chat/completions (chat=True) or /v1/completions body."""
    body: ChatCompletionRequest | CompletionRequest = (
        decode_request(raw, ChatCompletionRequest) if chat else decode_request(raw, CompletionRequest))
    common = _common(body)
    requests: tuple[GenerationRequest, ...]
    if isinstance(body, ChatCompletionRequest):
        requests = (_chat_request(body, common),)
    else:
        prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
        requests = tuple(GenerationRequest(prompt=prompt, **common) for prompt in prompts)
    stream = bool(body.stream)
    return GenerationCall(requests, body.n or 1, stream, _include_usage(body.stream_options, stream))
