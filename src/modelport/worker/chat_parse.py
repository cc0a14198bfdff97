"""Validating the chat-only parts of a /v1/chat/completions body: messages with tool calls, tools,
`tool_choice`, and prefill (`continue_final_message` / `add_generation_prompt`, as vLLM takes them).

Pure functions over decoded JSON; bad input raises `BadRequest` naming the field. Sizes are bounded:
`MAX_TOOLS` tools, parameter schemas nested at most `MAX_SCHEMA_DEPTH` deep and `MAX_SCHEMA_BYTES` long.
"""

from __future__ import annotations

import json
import re
from typing import Any

from modelport.errors import BadRequest

MAX_TOOLS = 128
MAX_SCHEMA_DEPTH = 16
MAX_SCHEMA_BYTES = 64 * 1024
MAX_TOOL_CALLS = 128
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


def message_text(content: Any, where: str) -> str:
    """A message's content as one string: a string, null, or text parts joined."""
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise BadRequest("only text content parts are supported", param=f"{where}.content")
            parts.append(part["text"])
        return "".join(parts)
    raise BadRequest("message content must be a string or a list of text parts", param=f"{where}.content")


def _tool_calls(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > MAX_TOOL_CALLS:
        raise BadRequest(f"'tool_calls' must be a list of at most {MAX_TOOL_CALLS} calls", param=where)
    calls = []
    for i, call in enumerate(value):
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise BadRequest("each tool call needs a function with a name", param=f"{where}[{i}]")
        args = fn.get("arguments", "{}")
        if not isinstance(args, str):
            args = json.dumps(args)
        call_id = call.get("id")
        calls.append(
            {
                "id": call_id if isinstance(call_id, str) else f"call_{i}",
                "type": "function",
                "function": {"name": fn["name"], "arguments": args},
            }
        )
    return calls


def chat_message(message: Any, index: int) -> dict[str, Any]:
    """One message as {role, content[, tool_calls][, tool_call_id][, name]}."""
    where = f"messages[{index}]"
    if not isinstance(message, dict) or not isinstance(message.get("role"), str):
        raise BadRequest("each message needs a 'role'", param=where)
    out: dict[str, Any] = {"role": message["role"], "content": message_text(message.get("content"), where)}
    if message.get("tool_calls") is not None:
        out["tool_calls"] = _tool_calls(message["tool_calls"], f"{where}.tool_calls")
    for key in ("tool_call_id", "name"):
        if isinstance(message.get(key), str):
            out[key] = message[key]
    return out


def _depth(value: Any, limit: int) -> int:
    if limit < 0:
        return 0
    if isinstance(value, dict):
        return 1 + max((_depth(v, limit - 1) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v, limit - 1) for v in value), default=0)
    return 0


def _tool(tool: Any, index: int) -> dict[str, Any]:
    where = f"tools[{index}]"
    fn = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(tool, dict) or tool.get("type", "function") != "function" or not isinstance(fn, dict):
        raise BadRequest("each tool must be {'type': 'function', 'function': {...}}", param=where)
    name = fn.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise BadRequest("a tool's name must be 1-128 of A-Z a-z 0-9 _ . : -", param=f"{where}.function.name")
    params = fn.get("parameters")
    if params is not None:
        if not isinstance(params, dict):
            raise BadRequest("'parameters' must be a JSON schema object", param=f"{where}.function.parameters")
        if _depth(params, MAX_SCHEMA_DEPTH * 2 + 1) > MAX_SCHEMA_DEPTH * 2:  # a level is {"properties": {...}}
            raise BadRequest(f"'parameters' nests deeper than {MAX_SCHEMA_DEPTH} levels",
                             param=f"{where}.function.parameters")  # fmt: skip
        if len(json.dumps(params)) > MAX_SCHEMA_BYTES:
            raise BadRequest(f"'parameters' is longer than {MAX_SCHEMA_BYTES} bytes",
                             param=f"{where}.function.parameters")  # fmt: skip
    description = fn.get("description")
    spec: dict[str, Any] = {"name": name, "description": description if isinstance(description, str) else ""}
    if params is not None:
        spec["parameters"] = params
    return {"type": "function", "function": spec}


def tools(body: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """`tools` (function tools only), validated and bounded; () when absent."""
    value = body.get("tools")
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_TOOLS:
        raise BadRequest(f"'tools' must be a list of at most {MAX_TOOLS} tools", param="tools")
    parsed = tuple(_tool(tool, i) for i, tool in enumerate(value))
    names = [t["function"]["name"] for t in parsed]
    if len(set(names)) != len(names):
        raise BadRequest("tool names must be unique", param="tools")
    return parsed


def tool_choice(body: dict[str, Any], parsed_tools: tuple[dict[str, Any], ...]) -> tuple[str, str | None]:
    """("auto" | "none" | "required" | "function", the named function or None)."""
    value = body.get("tool_choice")
    if value is None:
        return "auto", None
    if not parsed_tools and value != "none":
        raise BadRequest("'tool_choice' needs 'tools'", param="tool_choice")
    if value in ("auto", "none", "required"):
        return str(value), None
    fn = value.get("function") if isinstance(value, dict) and value.get("type") == "function" else None
    name = fn.get("name") if isinstance(fn, dict) else None
    if not isinstance(name, str):
        raise BadRequest("'tool_choice' must be none, auto, required or {'type': 'function', 'function':"
                         " {'name': ...}}", param="tool_choice")  # fmt: skip
    if name not in {t["function"]["name"] for t in parsed_tools}:
        raise BadRequest(f"'tool_choice' names {name!r}, which is not in 'tools'", param="tool_choice")
    return "function", name


def continue_final(body: dict[str, Any], messages: tuple[dict[str, Any], ...]) -> bool | None:
    """Prefill: True/False as `continue_final_message` / `add_generation_prompt` ask; None: by default."""
    cont, gen = body.get("continue_final_message"), body.get("add_generation_prompt")
    for name, value in (("continue_final_message", cont), ("add_generation_prompt", gen)):
        if value is not None and not isinstance(value, bool):
            raise BadRequest(f"'{name}' must be a boolean", param=name)
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
