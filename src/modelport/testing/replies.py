"""Deterministic reply text: what the fake "generates" for a request. Pure functions only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(slots=True, frozen=True)
class Reply:
    """A generated answer before it is framed for a protocol."""

    content: str
    finish_reason: str = "stop"
    reasoning: str | None = None
    tool_name: str | None = None
    tool_arguments: str | None = None


def message_text(content: Any) -> str:
    """The text of a message's ``content``: a string, or the text parts of a list of parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and "text" in p)
    return ""


def last_user_text(messages: list[Any]) -> str:
    """The text of the last ``user`` message (empty when there is none)."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return message_text(message.get("content"))
    return ""


def count_words(text: str) -> int:
    """The fake's token count: whitespace-separated words."""
    return len(text.split())


def prompt_words(messages: list[Any]) -> int:
    """Words over every message, counted as prompt tokens (at least 1)."""
    total = sum(count_words(message_text(m.get("content"))) for m in messages if isinstance(m, dict))
    return max(1, total)


def limit_words(text: str, max_words: int | None) -> tuple[str, bool]:
    """Cut ``text`` to ``max_words`` words; also say whether it was cut."""
    if max_words is None:
        return text, False
    words = text.split(" ")
    if len(words) <= max_words:
        return text, False
    return " ".join(words[:max(0, max_words)]), True


def apply_stop(text: str, stop: Any) -> tuple[str, str | None]:
    """Cut ``text`` at the earliest stop string; also return the stop string that matched."""
    stops = [stop] if isinstance(stop, str) else [s for s in (stop or []) if isinstance(s, str) and s]
    best: tuple[int, str] | None = None
    for candidate in stops:
        at = text.find(candidate)
        if at >= 0 and (best is None or at < best[0]):
            best = (at, candidate)
    if best is None:
        return text, None
    return text[:best[0]], best[1]


def finish_text(text: str, max_words: int | None, stop: Any) -> tuple[str, str]:
    """Apply ``max_tokens`` (finish "length") then ``stop`` (finish "stop")."""
    text, cut = limit_words(text, max_words)
    text, matched = apply_stop(text, stop)
    return text, ("length" if cut and matched is None else "stop")


def _tool_result(messages: list[Any]) -> str | None:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "tool":
            return message_text(message.get("content"))
    return None


def sample_value(schema: Any, name: str) -> Any:
    """A plausible value for a JSON-schema property (``"Paris"`` for strings)."""
    if not isinstance(schema, dict):
        return "Paris"
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    samples: dict[str, Any] = {"integer": 1, "number": 1.5, "boolean": True, "array": [], "null": None}
    if kind == "object":
        return sample_arguments(schema)
    return samples.get(kind, "Paris") if isinstance(kind, str) else "Paris"


def sample_arguments(parameters: Any) -> dict[str, Any]:
    """Arguments for a tool: every property of its schema with a sample value; ``{"city": "Paris"}`` if none."""
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    if not isinstance(properties, dict) or not properties:
        return {"city": "Paris"}
    return {name: sample_value(schema, name) for name, schema in properties.items()}


def _first_tool(tools: list[Any]) -> tuple[str, Any]:
    tool = tools[0] if isinstance(tools[0], dict) else {}
    function = tool.get("function", tool)
    return str(function.get("name", "tool")), function.get("parameters", function.get("input_schema"))


def chat_reply(data: dict[str, Any]) -> Reply:
    """The reply to an OpenAI chat request: tool call, tool echo or ``"Echo: <last user text>"``."""
    messages = data.get("messages") or []
    user = last_user_text(messages)
    last = message_text(messages[-1].get("content")) if messages and isinstance(messages[-1], dict) else ""
    reasoning = None
    if data.get("reasoning_effort") is not None or "think" in last.lower():
        reasoning = f"Thinking about: {user}"
    tools = data.get("tools")
    if tools and isinstance(tools, list) and "call tool" in user.lower() and _tool_result(messages) is None:
        name, parameters = _first_tool(tools)
        arguments = orjson.dumps(sample_arguments(parameters)).decode()
        return Reply("", "tool_calls", reasoning, name, arguments)
    tool_said = _tool_result(messages)
    text = f"Tool said: {tool_said}" if tool_said is not None else f"Echo: {user}"
    max_words = data.get("max_completion_tokens", data.get("max_tokens"))
    content, finish = finish_text(text, max_words if isinstance(max_words, int) else None, data.get("stop"))
    return Reply(content, finish, reasoning)
