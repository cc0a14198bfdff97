"""The Responses API's objects as we build them: the ``response`` object, its output items and usage.

A :class:`Turn` holds what every ``response`` object of one request repeats (its id, creation time, model
and the request's settings echoed back), so the streamed snapshots and the final object agree.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
import orjson

from modelport.protocols import openai_responses as rs

from .request import function_tool


def new_id(prefix: str) -> str:
    """A fresh identifier such as ``resp_…``, ``msg_…``, ``fc_…``, ``rs_…`` or ``call_…``."""
    return f"{prefix}_{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Turn:
    """One request's identity and the settings its ``response`` objects echo."""

    id: str
    model: str
    created_at: int = field(default_factory=lambda: int(time.time()))
    echo: Mapping[str, Any] = field(default_factory=dict)

    def item_id(self, prefix: str, output_index: int) -> str:
        """The id of output item ``output_index``: it names the response, so an ``item_reference`` to it
        can be resolved (``msg_<response>_<index>``)."""
        return f"{prefix}_{self.id.removeprefix(RESPONSE_PREFIX)}_{output_index}"


RESPONSE_PREFIX = "resp_"


def output_position(item_id: str) -> tuple[str, int] | None:
    """``(response id, output index)`` named by an output item id made by :meth:`Turn.item_id`, else None."""
    parts = item_id.split("_")
    if len(parts) != 3 or not parts[2].isdigit() or len(parts[2]) > 6:
        return None
    return RESPONSE_PREFIX + parts[1], int(parts[2])


def new_turn(request: rs.ResponsesRequest, model: str) -> Turn:
    """A turn for ``request`` answered as ``model`` (the deployment's name)."""
    return Turn(id=new_id("resp"), model=model, echo=request_echo(request))


def request_echo(request: rs.ResponsesRequest) -> dict[str, Any]:
    """The request's settings as a ``response`` object repeats them."""
    reasoning = request.reasoning
    text_format: Any = {"type": "text"}
    if request.text is not None and request.text.format is not None:
        text_format = msgspec.to_builtins(request.text.format)  # tagged: "type" comes along
    return {
        "instructions": request.instructions,
        "max_output_tokens": request.max_output_tokens,
        "metadata": dict(request.metadata or {}),
        "parallel_tool_calls": request.parallel_tool_calls is not False,
        "previous_response_id": request.previous_response_id,
        "reasoning": {"effort": reasoning.effort if reasoning else None,
                      "summary": reasoning.summary if reasoning else None},
        "store": request.store,
        "temperature": request.temperature,
        "text": {"format": text_format},
        "tool_choice": request.tool_choice if request.tool_choice is not None else "auto",
        "tools": [{"type": "function", **function_tool(tool)["function"]} for tool in rs.function_tools(request.tools)],
        "top_p": request.top_p,
        "truncation": "disabled",
        "user": request.user,
    }


def response_object(
    turn: Turn, *, status: str, output: list[dict[str, Any]], usage: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None, incomplete_reason: str | None = None,
) -> dict[str, Any]:
    """The ``response`` object of ``turn`` in the given state."""
    return {
        "id": turn.id,
        "object": "response",
        "created_at": turn.created_at,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": {"reason": incomplete_reason} if incomplete_reason else None,
        "model": turn.model,
        "output": output,
        "usage": usage,
        **turn.echo,
    }


def status_of(finish_reason: str | None) -> tuple[str, str | None]:
    """``(status, incomplete reason)`` for a backend's finish reason."""
    if finish_reason == "length":
        return "incomplete", "max_output_tokens"
    if finish_reason == "content_filter":
        return "incomplete", "content_filter"
    return "completed", None


def message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    """An assistant ``message`` output item with one ``output_text`` part."""
    return {"id": item_id, "type": "message", "status": status, "role": "assistant",
            "content": [text_part(text)]}


def text_part(text: str) -> dict[str, Any]:
    """An ``output_text`` content part."""
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def reasoning_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    """A ``reasoning`` output item carrying the backend's reasoning text."""
    return {"id": item_id, "type": "reasoning", "status": status, "summary": [],
            "content": [{"type": "reasoning_text", "text": text}]}


def function_call_item(item_id: str, call_id: str, name: str, arguments: str, status: str) -> dict[str, Any]:
    """A ``function_call`` output item."""
    return {"id": item_id, "type": "function_call", "status": status, "arguments": arguments,
            "call_id": call_id, "name": name}


def arguments_text(arguments: Any) -> str:
    """A tool call's arguments as the JSON text the API carries (``"{}"`` when there are none)."""
    if isinstance(arguments, str):
        return arguments
    if isinstance(arguments, (dict, list)):
        return orjson.dumps(arguments).decode()
    return "{}"


def usage_from_chat(usage: Mapping[str, Any] | None) -> dict[str, Any]:
    """Responses usage from chat usage (zeros when the backend sent none)."""
    usage = usage or {}
    prompt, completion = _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))
    prompt_details = usage.get("prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    cached = _count(prompt_details.get("cached_tokens")) if isinstance(prompt_details, Mapping) else 0
    reasoning = _count(completion_details.get("reasoning_tokens")) if isinstance(completion_details, Mapping) else 0
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + completion,
    }


def _count(value: Any) -> int:
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0
