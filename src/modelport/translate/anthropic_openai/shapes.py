"""What a backend's answer must look like for the translation to read it, checked before it is read.

Only the fields the translation reads are checked, and only as strictly as reading them needs: unknown fields
pass, numbers may come as numeric strings, and text that is not a string is still skipped where it always
was (``content`` of a delta, the reasoning fields). Anything else is a :class:`BadUpstreamResponse` (502)
that says where it went wrong, e.g. ``Expected `array | null`, got `str` - at `$.choices```.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, cast

import msgspec
import orjson

from modelport.errors import BadUpstreamResponse


class _Details(msgspec.Struct):
    cached_tokens: int | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_details: _Details | None = None


class _FragmentFunction(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class _Fragment(msgspec.Struct):
    id: str | None = None
    function: _FragmentFunction | None = None


class _Delta(msgspec.Struct):
    tool_calls: list[_Fragment] | None = None


class _ChunkChoice(msgspec.Struct):
    delta: _Delta | None = None
    finish_reason: str | None = None


class _Chunk(msgspec.Struct):
    id: str | None = None
    choices: list[_ChunkChoice] | None = None
    usage: _Usage | None = None


class _CallFunction(msgspec.Struct):
    name: str | None = None  # arguments: anything, unreadable ones become {}


class _ToolCall(msgspec.Struct):
    id: str | None = None
    function: _CallFunction | None = None


class _Message(msgspec.Struct):
    content: str | None = None
    tool_calls: list[_ToolCall] | None = None


class _Choice(msgspec.Struct):
    message: _Message
    finish_reason: str | None = None


class _Completion(msgspec.Struct):
    choices: Annotated[list[_Choice], msgspec.Meta(min_length=1)]
    id: str | None = None
    usage: _Usage | None = None


def check_chunk(chunk: Any) -> Mapping[str, Any]:
    """``chunk`` when it reads as a ``chat.completion.chunk``; otherwise a :class:`BadUpstreamResponse`."""
    _check(chunk, _Chunk, "chat.completion.chunk")
    return cast(Mapping[str, Any], chunk)


def check_completion(chat: Any) -> Mapping[str, Any]:
    """``chat`` when it reads as a ``chat.completion``; otherwise a :class:`BadUpstreamResponse`."""
    _check(chat, _Completion, "chat completion")
    return cast(Mapping[str, Any], chat)


def parse_json(data: bytes, what: str) -> Any:
    """``data`` parsed as JSON; a :class:`BadUpstreamResponse` naming ``what`` when it is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise BadUpstreamResponse(f"The instance's {what} is not JSON: {_excerpt(data)}") from None


def chat_completion_from_json(body: bytes) -> Mapping[str, Any]:
    """A whole chat completion answer, parsed and checked; an ``error`` in it is reported as such."""
    chat = parse_json(body, "answer")
    if isinstance(chat, dict) and chat.get("error") is not None and "choices" not in chat:
        raise BadUpstreamResponse(f"The instance answered with an error: {error_message(chat['error'])}")
    return check_completion(chat)


def error_message(error: Any) -> str:
    """The message of an OpenAI-style ``error`` value (an object with ``message``, or anything)."""
    if isinstance(error, Mapping):
        return str(error.get("message") or "upstream error")
    return str(error)


def _check(value: Any, shape: type[msgspec.Struct], what: str) -> None:
    try:
        msgspec.convert(value, shape, strict=False)
    except msgspec.ValidationError as exc:
        raise BadUpstreamResponse(f"The instance's answer is not a {what}: {exc}") from None


def _excerpt(data: bytes, limit: int = 80) -> str:
    text = data[:limit].decode("utf-8", "replace").strip()
    return repr(text + ("..." if len(data) > limit else "")) if text else "(empty)"
