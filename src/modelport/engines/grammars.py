"""llama.cpp (GBNF) grammars for constrained generation: `response_format` and forced tool calls."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from modelport.engines.base import InvalidEngineInput
from modelport.engines.tool_calls import call_schema


def _from_schema(schema: dict[str, Any], param: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        return str(json_schema_to_gbnf(json.dumps(schema)))
    except Exception as exc:  # the converter raises several kinds for schemas it cannot express
        raise InvalidEngineInput(f"unsupported JSON schema: {exc}", param) from exc


def response_grammar(response_format: dict[str, Any] | None) -> str | None:
    """The GBNF grammar for a `response_format` (None for text or none)."""
    if not response_format or response_format.get("type") == "text":
        return None
    from llama_cpp.llama_grammar import JSON_GBNF

    kind = response_format.get("type")
    if kind == "json_object":
        return str(JSON_GBNF)
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise InvalidEngineInput("response_format.json_schema.schema must be an object", "response_format")
        return _from_schema(schema, "response_format")
    raise InvalidEngineInput(f"unsupported response_format type {kind!r}", "response_format")


def tool_grammar(tools: Sequence[dict[str, Any]], name: str | None) -> str:
    """The GBNF grammar of one call of tool `name` (of any tool when None), arguments per its schema."""
    return _from_schema(call_schema(tools, name), "tools")
