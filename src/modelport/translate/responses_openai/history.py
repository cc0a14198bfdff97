"""Stored conversations: input items as the API lists them, and the pages of `GET …/input_items`.

Each input item is kept in the API's item form: with an ``id`` (``msg_…``, ``fc_…``, ``fco_…``, ``rs_…``
when the client gave none), a ``status``, and a message's content as a list of parts (a string becomes one
``input_text``, or ``output_text`` for the assistant). They read back as input items unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from modelport import errors
from modelport.protocols import openai_responses as rs

from .objects import new_id

_PREFIX = {"message": "msg", "function_call": "fc", "function_call_output": "fco", "reasoning": "rs"}
MAX_PAGE = 100


def conversation_items(items: Sequence[rs.InputItem]) -> list[dict[str, Any]]:
    """``items`` in the stored (and listed) item form."""
    out: list[dict[str, Any]] = msgspec.to_builtins(list(items))
    for item in out:
        item.setdefault("id", new_id(_PREFIX.get(item["type"], "item")))
        item.setdefault("status", "completed")
        if item["type"] == "message" and isinstance(item["content"], str):
            kind = "output_text" if item["role"] == "assistant" else "input_text"
            part: dict[str, Any] = {"type": kind, "text": item["content"]}
            if kind == "output_text":
                part["annotations"] = []
            item["content"] = [part]
    return out


def input_items_page(items: Sequence[dict[str, Any]], *, order: str = "desc", limit: int = 20,
                     after: str | None = None) -> dict[str, Any]:
    """One page of a response's input items, as ``GET /v1/responses/{id}/input_items`` answers."""
    if order not in ("asc", "desc"):
        raise errors.BadRequest("order: must be 'asc' or 'desc'", param="order")
    if not 1 <= limit <= MAX_PAGE:
        raise errors.BadRequest(f"limit: must be between 1 and {MAX_PAGE}", param="limit")
    ordered = list(items) if order == "asc" else list(reversed(items))
    start = 0
    if after is not None:
        ids = [item.get("id") for item in ordered]
        if after not in ids:
            raise errors.BadRequest(f"after: no input item with id '{after}'", param="after")
        start = ids.index(after) + 1
    page = ordered[start:start + limit]
    return {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None, "has_more": start + limit < len(ordered)}
