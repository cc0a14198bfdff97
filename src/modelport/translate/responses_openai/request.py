"""OpenAI Responses request → OpenAI Chat Completions request.

Parameter mapping (the conversation itself: see :mod:`.items`):

- ``max_output_tokens`` → ``max_tokens``; ``temperature``/``top_p`` as is; ``user`` as is.
- ``stream`` → ``stream`` plus ``stream_options: {"include_usage": true}`` so the final usage arrives.
- ``tools`` (function tools) → chat function tools, a ``namespace``'s function tools flattened in; hosted
  tools (web search, file search, computer use...) cannot run on a plain engine and are left out (as a
  model without them would answer); an unknown tool type is a 400. ``tool_choice``: ``auto``/``none``/``required`` as
  is, ``{"type": "function", "name"}`` → the chat form, ``allowed_tools`` → its mode over only those tools.
  ``parallel_tool_calls`` as is. Both dropped when there are no tools.
- ``text.format``: ``json_schema`` → ``response_format`` ``json_schema`` (name, schema, description, strict),
  ``json_object`` → ``json_object``, ``text`` → nothing.
- ``reasoning.effort`` → ``reasoning_effort`` (gpt-oss, OpenAI-style reasoning models read it).
- ``store``, ``include``, ``metadata`` and ``previous_response_id`` stay on the gateway; unknown fields are
  ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import orjson

from modelport import errors
from modelport.protocols import openai_responses as rs
from modelport.translate.anthropic_openai.request import bad_request_from_validation

from .items import chat_messages


def decode_responses_request(body: bytes) -> rs.ResponsesRequest:
    """Decode and validate a Responses body; :class:`errors.InvalidJSON` or :class:`errors.BadRequest`."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise errors.InvalidJSON(f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise errors.BadRequest("request body must be a JSON object")
    items = data.get("input")
    if isinstance(items, list):
        if len(items) > rs.MAX_INPUT_ITEMS:
            raise errors.BadRequest(f"input: at most {rs.MAX_INPUT_ITEMS} items", param="input")
        for item in items:
            if isinstance(item, dict) and "type" not in item:
                item["type"] = "message"  # the "easy input message" form
    try:
        return msgspec.convert(data, rs.ResponsesRequest)
    except msgspec.ValidationError as exc:
        raise bad_request_from_validation(str(exc)) from None


def input_items(request: rs.ResponsesRequest) -> list[rs.InputItem]:
    """The request's own input as items (a string is one user message)."""
    if request.input is None:
        return []
    if isinstance(request.input, str):
        return [rs.Message(role="user", content=request.input)]
    return list(request.input)


def items_from_json(stored: Sequence[Any]) -> list[rs.InputItem]:
    """Stored conversation items (our own JSON) as input items; unreadable ones are a server error."""
    try:
        return msgspec.convert(list(stored), list[rs.InputItem])
    except msgspec.ValidationError as exc:
        raise errors.ModelportError(f"A stored response could not be read: {exc}") from None


def chat_request_from_responses(
    request: rs.ResponsesRequest, history: Sequence[rs.InputItem], *, upstream_model: str
) -> dict[str, Any]:
    """The chat request for ``request`` continuing ``history`` (the stored conversation it follows)."""
    items = [*history, *input_items(request)]
    chat: dict[str, Any] = {"model": upstream_model, "messages": chat_messages(request.instructions, items)}
    if request.max_output_tokens is not None:
        chat["max_tokens"] = request.max_output_tokens
    chat["stream"] = request.stream
    if request.stream:
        chat["stream_options"] = {"include_usage": True}
    for name in ("temperature", "top_p", "user"):
        if getattr(request, name) is not None:
            chat[name] = getattr(request, name)
    chat.update(tool_params(request))
    if request.text is not None and request.text.format is not None:
        chat.update(format_params(request.text.format))
    if request.reasoning is not None and request.reasoning.effort:
        chat["reasoning_effort"] = request.reasoning.effort
    return chat


def tool_params(request: rs.ResponsesRequest) -> dict[str, Any]:
    """``tools``, ``tool_choice`` and ``parallel_tool_calls`` for the chat request."""
    tools = rs.function_tools(request.tools)
    if not tools:
        return {}
    choice: Any = request.tool_choice
    if isinstance(choice, dict):
        choice, tools = _object_choice(choice, tools)
    elif choice is not None and choice not in ("auto", "none", "required"):
        raise errors.BadRequest(f"tool_choice: unknown value {choice!r}", param="tool_choice")
    params: dict[str, Any] = {"tools": [function_tool(tool) for tool in tools]}
    if choice is not None:
        params["tool_choice"] = choice
    if request.parallel_tool_calls is not None:
        params["parallel_tool_calls"] = request.parallel_tool_calls
    return params


def _object_choice(choice: dict[str, Any], tools: list[rs.FunctionTool]) -> tuple[Any, list[rs.FunctionTool]]:
    kind = choice.get("type")
    names = {tool.name for tool in tools}
    if kind == "function" and isinstance(choice.get("name"), str):
        if choice["name"] not in names:
            raise errors.BadRequest(f"tool_choice.name: no tool named {choice['name']!r}", param="tool_choice.name")
        return {"type": "function", "function": {"name": choice["name"]}}, tools
    if kind == "allowed_tools" and isinstance(choice.get("tools"), list):
        allowed = {tool.get("name") for tool in choice["tools"] if isinstance(tool, dict)}
        mode = choice.get("mode", "auto")
        if mode not in ("auto", "required"):
            raise errors.BadRequest(f"tool_choice.mode: unknown value {mode!r}", param="tool_choice.mode")
        kept = [tool for tool in tools if tool.name in allowed]
        if not kept:
            raise errors.BadRequest("tool_choice.tools: none of them is in tools", param="tool_choice.tools")
        return mode, kept
    raise errors.BadRequest(f"tool_choice: unsupported type {kind!r}", param="tool_choice.type")


def function_tool(tool: rs.FunctionTool) -> dict[str, Any]:
    """The chat function tool for a Responses function tool."""
    function: dict[str, Any] = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    function["parameters"] = tool.parameters if tool.parameters is not None else {"type": "object", "properties": {}}
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def format_params(fmt: rs.TextFormat | rs.JsonObjectFormat | rs.JsonSchemaFormat) -> dict[str, Any]:
    """``response_format`` for a ``text.format``."""
    if isinstance(fmt, rs.JsonObjectFormat):
        return {"response_format": {"type": "json_object"}}
    if isinstance(fmt, rs.JsonSchemaFormat):
        schema: dict[str, Any] = {"name": fmt.name, "schema": fmt.schema}
        if fmt.description:
            schema["description"] = fmt.description
        if fmt.strict is not None:
            schema["strict"] = fmt.strict
        return {"response_format": {"type": "json_schema", "json_schema": schema}}
    return {}
