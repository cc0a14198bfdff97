"""chat_request_from_messages: parameters (tools, tool_choice, sampling, stream, thinking, prefill)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelport.translate.anthropic_openai import decode_messages_request
from tests.translate.anthropic_openai_helpers import messages_body as _body
from tests.translate.anthropic_openai_helpers import to_chat as _chat

TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "cache_control": {"type": "ephemeral"},
    },
    {"name": "noop", "input_schema": {"type": "object", "properties": {}}},
]

PARAM_CASES = [
    pytest.param(
        {"tools": TOOLS},
        {
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "description": "Weather for a city",
                        "parameters": TOOLS[0]["input_schema"],
                    },
                },
                {
                    "type": "function",
                    "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}},
                },
            ]
        },
        id="tools",
    ),
    pytest.param(
        {"tools": TOOLS, "tool_choice": {"type": "auto"}}, {"tool_choice": "auto"}, id="choice-auto"
    ),
    pytest.param(
        {"tools": TOOLS, "tool_choice": {"type": "any"}}, {"tool_choice": "required"}, id="choice-any"
    ),
    pytest.param(
        {"tools": TOOLS, "tool_choice": {"type": "none"}}, {"tool_choice": "none"}, id="choice-none"
    ),
    pytest.param(
        {"tools": TOOLS, "tool_choice": {"type": "tool", "name": "noop"}},
        {"tool_choice": {"type": "function", "function": {"name": "noop"}}},
        id="choice-tool",
    ),
    pytest.param(
        {"tools": TOOLS, "tool_choice": {"type": "auto", "disable_parallel_tool_use": True}},
        {"tool_choice": "auto", "parallel_tool_calls": False},
        id="disable-parallel",
    ),
    pytest.param(
        {"tool_choice": {"type": "any"}}, {"tool_choice": None, "tools": None}, id="choice-without-tools"
    ),
    pytest.param({"stop_sequences": ["###", "END"]}, {"stop": ["###", "END"]}, id="stop-sequences"),
    pytest.param(
        {"temperature": 0.2, "top_p": 0.9, "top_k": 40},
        {"temperature": 0.2, "top_p": 0.9, "top_k": 40},
        id="sampling",
    ),
    pytest.param({"metadata": {"user_id": "u-42"}}, {"user": "u-42"}, id="metadata-user"),
    pytest.param({"stream": True}, {"stream": True, "stream_options": {"include_usage": True}}, id="stream"),
    pytest.param({"stream": False}, {"stream": False, "stream_options": None}, id="no-stream"),
    pytest.param(
        {"thinking": {"type": "enabled", "budget_tokens": 1024}},
        {"reasoning_effort": "low", "chat_template_kwargs": {"enable_thinking": True, "thinking": True}},
        id="thinking-low",
    ),
    pytest.param(
        {"thinking": {"type": "enabled", "budget_tokens": 10000}},
        {"reasoning_effort": "medium"},
        id="thinking-medium",
    ),
    pytest.param(
        {"thinking": {"type": "enabled", "budget_tokens": 31999}},
        {"reasoning_effort": "high"},
        id="thinking-high",
    ),
    pytest.param(
        {"thinking": {"type": "disabled"}},
        {"reasoning_effort": None, "chat_template_kwargs": {"enable_thinking": False, "thinking": False}},
        id="thinking-disabled",
    ),
    pytest.param(
        {},
        {
            "reasoning_effort": None,
            "chat_template_kwargs": None,
            "top_k": None,
            "stop": None,
            "continue_final_message": None,
        },
        id="defaults-add-nothing",
    ),
    pytest.param(
        {"messages": [{"role": "user", "content": "Say hi"}, {"role": "assistant", "content": "Hi, I"}]},
        {"continue_final_message": True, "add_generation_prompt": False},
        id="assistant-prefill",
    ),
]


@pytest.mark.parametrize(("fields", "expected"), PARAM_CASES)
def test_params(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    chat = _chat(_body(**fields))
    assert {key: chat.get(key) for key in expected} == expected


def test_top_k_dropped_when_unsupported() -> None:
    assert "top_k" not in _chat(_body(top_k=40), supports_top_k=False)
    assert _chat(_body(top_k=40), supports_top_k=True)["top_k"] == 40


def test_bytes_body_equals_dict_body() -> None:
    body = _body(system="s", tools=TOOLS, stream=True)
    assert _chat(json.dumps(body).encode()) == _chat(body)


def test_decoded_request_accepted() -> None:
    body = _body(stream=True, stop_sequences=["END"], tools=TOOLS)
    request = decode_messages_request(json.dumps(body).encode())
    assert (request.stream, request.stop_sequences, request.model) == (True, ["END"], "claude-sonnet-4-5")
    assert _chat(request) == _chat(body)
