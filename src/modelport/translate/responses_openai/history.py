"""Stored conversations: input items as the API lists them, the pages of `GET …/input_items`, and the
output items that ``item_reference`` inputs name.

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

from .objects import new_id, output_position
from .request import items_from_json

_PREFIX = {"message": "msg", "function_call": "fc", "function_call_output": "fco", "reasoning": "rs"}
MAX_PAGE = 100
MAX_REFERENCED = 100  # stored responses one request's item references may name


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


def referenced_responses(items: Sequence[rs.InputItem]) -> set[str]:
    """The ids of the stored responses whose output items ``items`` reference; BadRequest for an id that
    names no output item of ours."""
    found = set()
    for index, item in enumerate(items):
        if isinstance(item, rs.ItemReference):
            position = output_position(item.id)
            if position is None:
                raise _missing(index, item.id)
            found.add(position[0])
    if len(found) > MAX_REFERENCED:
        raise errors.BadRequest(f"input: items of at most {MAX_REFERENCED} responses may be referenced",
                                param="input")
    return found


def resolve_references(items: Sequence[rs.InputItem], outputs: dict[str, list[Any]]) -> list[rs.InputItem]:
    """``items`` with each ``item_reference`` replaced by the output item it names; ``outputs`` holds the
    output items of the stored responses (those not found, or not the caller's, are absent)."""
    resolved: list[rs.InputItem] = []
    for index, item in enumerate(items):
        if not isinstance(item, rs.ItemReference):
            resolved.append(item)
            continue
        response_id, position = output_position(item.id) or ("", -1)
        output = outputs.get(response_id) or []
        if not 0 <= position < len(output) or output[position].get("id") != item.id:
            raise _missing(index, item.id)
        resolved.extend(items_from_json([output[position]]))
    return resolved


def _missing(index: int, item_id: str) -> errors.BadRequest:
    return errors.BadRequest(f"Item with id '{item_id}' not found.", param=f"input.{index}.id")
