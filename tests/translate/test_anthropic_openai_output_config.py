"""`output_config.format` (Anthropic's structured outputs) becomes the backend's `response_format`;
`output_config.effort` and fields we don't know are accepted; `message_start` carries the input tokens."""

from __future__ import annotations

from typing import Any

import pytest

from modelport import errors
from modelport.translate.anthropic_openai import MessagesStream, chat_request_from_messages

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
          "additionalProperties": False}


def _translate(**fields: Any) -> dict[str, Any]:
    body = {"model": "m", "max_tokens": 32, "messages": [{"role": "user", "content": "Where?"}], **fields}
    return chat_request_from_messages(body, upstream_model="up")


def test_json_schema_format_becomes_response_format() -> None:
    chat = _translate(output_config={"format": {"type": "json_schema", "schema": SCHEMA}, "effort": "high"})
    assert chat["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "output", "schema": SCHEMA, "strict": True}}
    assert "reasoning_effort" not in chat  # effort is accepted, not sent to a backend that may refuse it


def test_the_beta_output_format_field_too() -> None:
    chat = _translate(output_format={"type": "json_schema", "schema": SCHEMA})
    assert chat["response_format"]["json_schema"]["schema"] == SCHEMA


def test_no_format_no_response_format() -> None:
    assert "response_format" not in _translate(output_config={"effort": "low"})
    assert "response_format" not in _translate(context_management={"edits": []}, container=None)


def test_an_unknown_format_type_is_a_400() -> None:
    with pytest.raises(errors.BadRequest) as raised:
        _translate(output_config={"format": {"type": "xml", "schema": SCHEMA}})
    assert raised.value.param == "output_config.format.type"


def test_message_start_takes_the_count_given() -> None:
    start = MessagesStream(model="m", input_tokens=7612).start()
    assert start[0][1]["message"]["usage"] == {"input_tokens": 7612, "output_tokens": 0}


def test_message_start_takes_the_first_usage_otherwise() -> None:
    state = MessagesStream(model="m")
    chunk = {"id": "c", "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}],
             "usage": {"prompt_tokens": 42, "completion_tokens": 1}}  # vLLM's continuous_usage_stats
    events = state.feed(chunk)
    assert events[0][0] == "message_start"
    assert events[0][1]["message"]["usage"]["input_tokens"] == 42
