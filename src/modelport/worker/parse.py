"""Validating OpenAI, Jina and TEI request bodies into engine records; bad input raises `BadRequest`.

Pure functions over already-decoded JSON (dicts); no engine or HTTP imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from modelport.engines.base import GenerationRequest
from modelport.errors import BadRequest, InvalidJSON
from modelport.worker import chat_parse

MAX_N = 16
MAX_STOPS = 64  # Anthropic clients send several stop_sequences; OpenAI's own limit of 4 is not ours
MAX_STOP_CHARS = 256


@dataclass(frozen=True)
class GenerationCall:
    """A parsed chat or completions request: one engine request per prompt, plus response options."""

    requests: tuple[GenerationRequest, ...]
    n: int
    stream: bool
    include_usage: bool


def decode_body(raw: bytes) -> dict[str, Any]:
    """The JSON object in a request body."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidJSON("request body must be a JSON object")
    return body


def _number(body: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BadRequest(f"'{name}' must be a number between {low} and {high}", param=name)
    return float(value)


def _integer(body: dict[str, Any], name: str, default: int | None, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"'{name}' must be an integer between {low} and {high}", param=name)
    return value


def _boolean(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadRequest(f"'{name}' must be a boolean", param=name)
    return value


def _stops(body: dict[str, Any]) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    stops = [stop] if isinstance(stop, str) else stop
    if (
        isinstance(stops, list)
        and len(stops) <= MAX_STOPS
        and all(isinstance(s, str) and len(s) <= MAX_STOP_CHARS for s in stops)
    ):
        return tuple(stops)
    raise BadRequest(
        f"'stop' must be a string or a list of at most {MAX_STOPS} strings of at most {MAX_STOP_CHARS}"
        " characters",
        param="stop",
    )


def chat_messages(body: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """`messages` as {role, content-string} dicts (text parts joined), with tool calls and tool ids kept."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty list", param="messages")
    return tuple(chat_parse.chat_message(message, i) for i, message in enumerate(messages))


def _response_format(body: dict[str, Any]) -> dict[str, Any] | None:
    value = body.get("response_format")
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in ("text", "json_object", "json_schema"):
        raise BadRequest(
            "'response_format.type' must be text, json_object or json_schema", param="response_format"
        )
    return value


def _stream_options(body: dict[str, Any], stream: bool) -> bool:
    options = body.get("stream_options")
    if options is None:
        return False
    if not stream:
        raise BadRequest("'stream_options' is only allowed when 'stream' is true", param="stream_options")
    if not isinstance(options, dict):
        raise BadRequest("'stream_options' must be an object", param="stream_options")
    return _boolean(options, "include_usage", False)


def _logprob_options(body: dict[str, Any], chat: bool) -> tuple[bool, int]:
    if chat:
        wanted = _boolean(body, "logprobs", False)
        top = _integer(body, "top_logprobs", 0, 0, 20) or 0
        if top and not wanted:
            raise BadRequest("'top_logprobs' requires 'logprobs': true", param="top_logprobs")
        return wanted, top
    count = _integer(body, "logprobs", None, 0, 5)
    return count is not None, count or 0


def _prompts(body: dict[str, Any]) -> list[str]:
    prompt = body.get("prompt")
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if isinstance(prompts, list) and prompts and all(isinstance(p, str) and p for p in prompts):
        return prompts
    raise BadRequest("'prompt' must be a non-empty string or a non-empty list of them", param="prompt")


def generation_call(body: dict[str, Any], *, chat: bool) -> GenerationCall:
    """Validate a /v1/chat/completions (chat=True) or /v1/completions body."""
    stream = _boolean(body, "stream", False)
    max_tokens = _integer(body, "max_completion_tokens", None, 1, 1 << 20)
    max_tokens = _integer(body, "max_tokens", max_tokens, 1, 1 << 20)
    logprobs, top_logprobs = _logprob_options(body, chat)
    common: dict[str, Any] = {
        "max_tokens": max_tokens if chat or max_tokens is not None else 16,
        "temperature": _number(body, "temperature", 1.0, 0.0, 2.0),
        "top_p": _number(body, "top_p", 1.0, 0.0, 1.0),
        "stop": _stops(body),
        "seed": _integer(body, "seed", None, -(1 << 63), (1 << 63) - 1),
        "presence_penalty": _number(body, "presence_penalty", 0.0, -2.0, 2.0),
        "frequency_penalty": _number(body, "frequency_penalty", 0.0, -2.0, 2.0),
        "logprobs": logprobs,
        "top_logprobs": top_logprobs,
        "response_format": _response_format(body),
    }
    if common["seed"] is not None:
        common["seed"] &= 0x7FFFFFFF
    requests: tuple[GenerationRequest, ...]
    if chat:
        messages = chat_messages(body)
        tools = chat_parse.tools(body)
        choice, name = chat_parse.tool_choice(body, tools)
        requests = (
            GenerationRequest(
                messages=messages, tools=tools, tool_choice=choice, tool_name=name,
                continue_final=chat_parse.continue_final(body, messages), **common,
            ),
        )  # fmt: skip
    else:
        requests = tuple(GenerationRequest(prompt=p, **common) for p in _prompts(body))
    n = _integer(body, "n", 1, 1, MAX_N) or 1
    return GenerationCall(requests, n, stream, _stream_options(body, stream))


def text_list(value: Any, name: str) -> list[str]:
    """A string or a non-empty list of strings, as a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    raise BadRequest(f"'{name}' must be a string or a non-empty list of strings", param=name)


def rerank_documents(value: Any) -> list[str]:
    """Jina `documents`: strings or {"text": ...} objects."""
    if not isinstance(value, list) or not value:
        raise BadRequest("'documents' must be a non-empty list", param="documents")
    out = []
    for i, doc in enumerate(value):
        if isinstance(doc, dict) and isinstance(doc.get("text"), str):
            out.append(doc["text"])
        elif isinstance(doc, str):
            out.append(doc)
        else:
            raise BadRequest("each document must be a string or {'text': ...}", param=f"documents[{i}]")
    return out


def query_text(body: dict[str, Any]) -> str:
    """The rerank `query` string."""
    query = body.get("query")
    if isinstance(query, dict) and isinstance(query.get("text"), str):
        return str(query["text"])
    if not isinstance(query, str):
        raise BadRequest("'query' must be a string", param="query")
    return query


def positive_int(body: dict[str, Any], name: str) -> int | None:
    """An optional integer >= 1."""
    return _integer(body, name, None, 1, 1 << 31)


def flag(body: dict[str, Any], name: str, default: bool) -> bool:
    """An optional boolean."""
    return _boolean(body, name, default)
