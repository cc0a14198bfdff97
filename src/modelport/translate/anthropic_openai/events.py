"""Anthropic Messages stream events: their tuples, their pieces, and their SSE framing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

Event = tuple[str, dict[str, Any]]


def encode_event(name: str, data: Mapping[str, Any]) -> bytes:
    """One SSE frame: ``event: NAME\\ndata: {json}\\n\\n``."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def skeleton(kind: str) -> dict[str, Any]:
    """The empty ``content_block`` of a ``content_block_start`` for a text or thinking block."""
    if kind == "thinking":
        return {"type": "thinking", "thinking": "", "signature": ""}
    return {"type": "text", "text": ""}


def text_delta(kind: str, text: str) -> dict[str, Any]:
    """The delta adding ``text`` to a text or thinking block."""
    if kind == "thinking":
        return {"type": "thinking_delta", "thinking": text}
    return {"type": "text_delta", "text": text}


def json_delta(partial_json: str) -> dict[str, Any]:
    """The delta adding arguments text to a tool_use block."""
    return {"type": "input_json_delta", "partial_json": partial_json}


def block_delta(index: int, change: dict[str, Any]) -> Event:
    """The ``content_block_delta`` event carrying ``change`` for block ``index``."""
    return ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": change})
