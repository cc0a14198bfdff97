"""The chat-only parts of a decoded /v1/chat/completions body as the engines take them: messages with tool
calls, tools, `tool_choice`, and prefill (`continue_final_message` / `add_generation_prompt`, as vLLM takes
them).

The wire schema (`protocols.openai_generation`) has checked each field; this module checks what it can't
say (tool names unique, a parameter schema nested at most `MAX_SCHEMA_DEPTH` deep and `MAX_SCHEMA_BYTES`
long, `tool_choice` naming one of the tools) and raises `BadRequest` naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from modelport.errors import BadRequest
from modelport.protocols.openai_generation import Message, NamedToolChoice, TextPart, Tool, ToolCall

MAX_SCHEMA_DEPTH = 16
MAX_SCHEMA_BYTES = 64 * 1024


def message_text(content: str | list[TextPart] | None) -> str:
    """A message's content as one string: a string, null, or text parts joined."""
    if isinstance(content, str):
        return content
    return "".join(part.text for part in content or ())


def _tool_calls(calls: list[ToolCall]) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id if call.id is not None else f"call_{i}",
            "type": "function",
            "function": {"name": call.function.name, "arguments": _arguments(call.function.arguments)},
        }
        for i, call in enumerate(calls)
    ]


def _arguments(value: Any) -> str:
    """A tool call's arguments as JSON text (some clients send the object itself)."""
    return value if isinstance(value, str) else json.dumps(value)


def chat_message(message: Message) -> dict[str, Any]:
    """One message as {role, content[, tool_calls][, tool_call_id][, name]}."""
    out: dict[str, Any] = {"role": message.role, "content": message_text(message.content)}
    if message.tool_calls is not None:
        out["tool_calls"] = _tool_calls(message.tool_calls)
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        out["name"] = message.name
    return out


def chat_messages(messages: Sequence[Message]) -> tuple[dict[str, Any], ...]:
    """`messages` as {role, content-string} dicts (text parts joined), with tool calls and tool ids kept."""
    return tuple(chat_message(message) for message in messages)


def _depth(value: Any, limit: int) -> int:
    if limit < 0:
        return 0
    if isinstance(value, dict):
        return 1 + max((_depth(v, limit - 1) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v, limit - 1) for v in value), default=0)
    return 0


def _tool(tool: Tool, index: int) -> dict[str, Any]:
    fn = tool.function
    params = fn.parameters
    spec: dict[str, Any] = {"name": fn.name, "description": fn.description or ""}
    if params is not None:
        where = f"tools[{index}].function.parameters"
        if _depth(params, MAX_SCHEMA_DEPTH * 2 + 1) > MAX_SCHEMA_DEPTH * 2:  # a level is {"properties": {...}}
            raise BadRequest(f"{where}: nests deeper than {MAX_SCHEMA_DEPTH} levels", param="tools")
        if len(json.dumps(params)) > MAX_SCHEMA_BYTES:
            raise BadRequest(f"{where}: longer than {MAX_SCHEMA_BYTES} bytes", param="tools")
        spec["parameters"] = params
    return {"type": "function", "function": spec}


def tools(declared: Sequence[Tool] | None) -> tuple[dict[str, Any], ...]:
    """`tools` as the engines take them, their schemas bounded; () when absent."""
    parsed = tuple(_tool(tool, i) for i, tool in enumerate(declared or ()))
    names = [t["function"]["name"] for t in parsed]
    if len(set(names)) != len(names):
        raise BadRequest("tool names must be unique", param="tools")
    return parsed


def tool_choice(
    value: str | NamedToolChoice | None, parsed_tools: tuple[dict[str, Any], ...]
) -> tuple[str, str | None]:
    """("auto" | "none" | "required" | "function", the named function or None)."""
    if value is None:
        return "auto", None
    if not parsed_tools and value != "none":
        raise BadRequest("'tool_choice' needs 'tools'", param="tool_choice")
    if isinstance(value, str):
        return value, None
    name = value.function.name
    if name not in {t["function"]["name"] for t in parsed_tools}:
        raise BadRequest(f"'tool_choice' names {name!r}, which is not in 'tools'", param="tool_choice")
    return "function", name


def continue_final(cont: bool | None, gen: bool | None, messages: tuple[dict[str, Any], ...]) -> bool | None:
    """Prefill: True/False as `continue_final_message` / `add_generation_prompt` ask; None: by default."""
    if cont and gen:
        raise BadRequest("'continue_final_message' and 'add_generation_prompt' cannot both be true",
                         param="continue_final_message")  # fmt: skip
    if cont or gen is False:
        if messages[-1]["role"] != "assistant":
            raise BadRequest("continuing needs a final assistant message", param="messages")
        return True
    if cont is False or gen:
        return False
    return None
