"""OpenAI chat completion (non-streamed) → Responses ``response`` object.

- Output order: one ``reasoning`` item (from ``reasoning_content``/``reasoning``), one ``message`` item with
  the text (none when the text is empty), then one ``function_call`` item per tool call (``call_id`` is the
  backend's tool call id, so it round-trips; arguments are the backend's JSON text).
- Status: ``length`` → ``incomplete`` (``max_output_tokens``), ``content_filter`` → ``incomplete``
  (``content_filter``), anything else → ``completed``.
- Usage: prompt/completion tokens, cached and reasoning tokens in the details, their total.
- A completion that can't be read (see ``anthropic_openai.shapes``) is a ``BadUpstreamResponse``, never an
  empty response.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelport.translate.anthropic_openai.response import reasoning_text
from modelport.translate.anthropic_openai.shapes import check_completion

from .objects import (
    Turn,
    arguments_text,
    function_call_item,
    message_item,
    new_id,
    reasoning_item,
    response_object,
    status_of,
    usage_from_chat,
)


def response_from_chat(chat: Mapping[str, Any], turn: Turn) -> dict[str, Any]:
    """The ``response`` object of ``turn`` for a chat completion (checked first)."""
    choice = check_completion(chat)["choices"][0]
    status, reason = status_of(choice.get("finish_reason"))
    output = output_items(choice["message"], "incomplete" if status == "incomplete" else "completed", turn)
    return response_object(turn, status=status, output=output, usage=usage_from_chat(chat.get("usage")),
                           incomplete_reason=reason)


def output_items(message: Mapping[str, Any], status: str, turn: Turn) -> list[dict[str, Any]]:
    """The output items of ``turn`` for a chat completion's message."""
    output: list[dict[str, Any]] = []
    reasoning = reasoning_text(message)
    if reasoning:
        output.append(reasoning_item(turn.item_id("rs", len(output)), reasoning, status))
    content = message.get("content")
    if isinstance(content, str) and content:
        output.append(message_item(turn.item_id("msg", len(output)), content, status))
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        output.append(function_call_item(turn.item_id("fc", len(output)), str(call.get("id") or new_id("call")),
                                         str(function.get("name") or ""), arguments_text(function.get("arguments")),
                                         "completed"))
    return output
