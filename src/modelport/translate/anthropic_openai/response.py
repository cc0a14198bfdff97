"""OpenAI chat completion (non-streamed) → Anthropic message, plus the mappings the stream shares.

- Content order: one ``thinking`` block (from ``message.reasoning_content`` or ``message.reasoning``, with an
  empty ``signature``: there is nothing to sign), one ``text`` block, then one ``tool_use`` block per call.
- ``tool_use.input`` is the parsed ``arguments``; arguments that are not a JSON object give ``{}`` rather
  than failing the whole response.
- Stop reasons: ``stop`` → ``end_turn``, or ``stop_sequence`` when the backend reports (vLLM's
  ``choice.stop_reason``) which of the client's ``stop_sequences`` matched, or when one is in the text (it is
  cut there, see ``stops``); ``length`` → ``max_tokens``;
  ``tool_calls``/``function_call`` (or any finish with tool calls present) → ``tool_use``;
  ``content_filter`` → ``refusal``.
- A completion that can't be read (see ``shapes``) is a ``BadUpstreamResponse``, never an empty message.
- Usage: ``input_tokens`` = prompt tokens minus cached ones, ``cache_read_input_tokens`` = cached tokens
  (``prompt_tokens_details.cached_tokens``), ``output_tokens`` = completion tokens.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from modelport.protocols.anthropic import MessageResponse, Usage

from .ids import anthropic_tool_id, message_id
from .shapes import check_completion
from .stops import cut_at_stop

_FINISH_TO_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def messages_response_from_chat(
    chat: Mapping[str, Any], *, model: str, stop_sequences: Sequence[str] = ()
) -> dict[str, Any]:
    """Build the Anthropic message for a chat completion; ``model`` is the name the client asked for.
    One that can't be read (no choices, a choice without a message...) is a ``BadUpstreamResponse``."""
    choice = check_completion(chat)["choices"][0]
    message = choice["message"]
    content: list[dict[str, Any]] = []
    reasoning = reasoning_text(message)
    if reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text, cut = cut_at_stop(message["content"], stop_sequences) if message.get("content") else ("", None)
    if text:
        content.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": anthropic_tool_id(call.get("id")),
                "name": function.get("name") or "",
                "input": parse_tool_input(function.get("arguments")),
            }
        )
    has_tools = any(block["type"] == "tool_use" for block in content)
    finish, matched = choice.get("finish_reason"), choice.get("stop_reason")
    if cut is not None and not (isinstance(matched, str) and matched in stop_sequences):
        finish, matched = "stop", cut  # the backend left the sequence in the text, or went on past it
    reason, sequence = stop_reason(finish, matched, stop_sequences, has_tools)
    response: MessageResponse = {
        "id": message_id(chat.get("id")),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": usage_from_chat(chat.get("usage")),
    }
    return dict(response)


def reasoning_text(message: Mapping[str, Any]) -> str:
    """The reasoning text of a message or delta (``reasoning_content``, or vLLM's newer ``reasoning``)."""
    value = message.get("reasoning_content") or message.get("reasoning")
    return value if isinstance(value, str) else ""


def parse_tool_input(arguments: Any) -> dict[str, Any]:
    """Parsed tool arguments; ``{}`` when they are missing, not JSON, or not a JSON object."""
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str) or not arguments.strip():
        return {}
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def stop_reason(
    finish_reason: str | None, matched: Any, stop_sequences: Sequence[str], has_tool_use: bool
) -> tuple[str, str | None]:
    """Anthropic ``(stop_reason, stop_sequence)`` for a backend finish; ``matched`` is vLLM's stop_reason."""
    if finish_reason == "stop" and isinstance(matched, str) and matched in stop_sequences:
        return "stop_sequence", matched
    if has_tool_use and finish_reason in (None, "stop", "tool_calls", "function_call"):
        return "tool_use", None
    return _FINISH_TO_STOP.get(finish_reason or "stop", "end_turn"), None


def usage_from_chat(usage: Mapping[str, Any] | None) -> Usage:
    """Anthropic usage from OpenAI usage (zeros when the backend sent none)."""
    usage = usage or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    details = usage.get("prompt_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0) if isinstance(details, Mapping) else 0
    return {
        "input_tokens": max(prompt - cached, 0),
        "output_tokens": int(usage.get("completion_tokens") or 0),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }
