"""chat_request_from_messages: conversation translation (system, images, tools, history)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.translate.anthropic_openai_helpers import messages_body as _body
from tests.translate.anthropic_openai_helpers import to_chat as _chat

IMG = "iVBORw0KGgo="

MESSAGE_CASES = [
    pytest.param(
        _body(system="Be brief."),
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        id="system-string",
    ),
    pytest.param(
        _body(
            system=[
                {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Rules."},
            ]
        ),
        [{"role": "system", "content": "You are Claude Code.\n\nRules."}, {"role": "user", "content": "Hi"}],
        id="system-blocks-cache-control",
    ),
    pytest.param(
        _body(
            system=[
                {"type": "text", "text": "B", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
                {"type": "text", "text": "A"},
                {"type": "text", "text": "C"},
            ]
        ),
        [{"role": "system", "content": "B\n\nA\n\nC"}, {"role": "user", "content": "Hi"}],
        id="system-blocks-merged-in-given-order",
    ),
    pytest.param(
        _body(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": IMG},
                        },
                        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                    ],
                }
            ]
        ),
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{IMG}"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                ],
            }
        ],
        id="images-base64-and-url",
    ),
    pytest.param(
        _body(
            messages=[
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": "Let me check."},
                        {
                            "type": "tool_use",
                            "id": "toolu_01abc",
                            "name": "get_weather",
                            "input": {"city": "Paris"},
                        },
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "(also, be quick)"},
                        {"type": "tool_result", "tool_use_id": "toolu_01abc", "content": "18°C, sunny"},
                    ],
                },
            ]
        ),
        [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": "Let me check.",
                "tool_calls": [
                    {
                        "id": "01abc",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "01abc", "content": "18°C, sunny"},
            {"role": "user", "content": "(also, be quick)"},
        ],
        id="tool-use-and-result-before-user-text",
    ),
    pytest.param(
        _body(
            messages=[
                {"role": "user", "content": "Run it"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "call_9", "name": "bash", "input": {}}],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "call_9",
                            "is_error": True,
                            "content": [
                                {"type": "text", "text": "exit 1"},
                                {"type": "text", "text": "no such file"},
                            ],
                        }
                    ],
                },
            ]
        ),
        [
            {"role": "user", "content": "Run it"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_9", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_9", "content": "Error: exit 1\nno such file"},
        ],
        id="tool-result-is-error-block-content",
    ),
    pytest.param(
        _body(
            messages=[
                {"role": "user", "content": "Screenshot"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "toolu_s", "name": "shot", "input": {}}],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_s",
                            "content": [
                                {"type": "text", "text": "captured"},
                                {
                                    "type": "image",
                                    "source": {"type": "base64", "media_type": "image/png", "data": IMG},
                                },
                            ],
                        }
                    ],
                },
            ]
        ),
        [
            {"role": "user", "content": "Screenshot"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "s", "type": "function", "function": {"name": "shot", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "s", "content": "captured"},
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{IMG}"}}],
            },
        ],
        id="tool-result-image-moves-to-user",
    ),
    pytest.param(
        _body(
            messages=[
                {"role": "user", "content": "a"},
                {"role": "user", "content": [{"type": "text", "text": "b"}]},
                {"role": "assistant", "content": "c"},
                {"role": "assistant", "content": "d"},
                {"role": "user", "content": "e"},
            ]
        ),
        [
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "assistant", "content": "c\nd"},
            {"role": "user", "content": "e"},
        ],
        id="consecutive-same-role-merged",
    ),
    pytest.param(
        _body(
            messages=[
                {"role": "user", "content": "Q"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "think", "signature": "sig"},
                        {"type": "redacted_thinking", "data": "xx"},
                        {"type": "text", "text": "A"},
                    ],
                },
                {"role": "user", "content": "Q2"},
            ]
        ),
        [
            {"role": "user", "content": "Q"},
            {"role": "assistant", "content": "A", "reasoning_content": "think"},
            {"role": "user", "content": "Q2"},
        ],
        id="thinking-history-as-reasoning-content",
    ),
    pytest.param(
        _body(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "document",
                            "title": "notes.txt",
                            "source": {"type": "text", "media_type": "text/plain", "data": "line 1"},
                        },
                        {"type": "text", "text": "Summarise"},
                    ],
                }
            ]
        ),
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "notes.txt\n\nline 1"},
                    {"type": "text", "text": "Summarise"},
                ],
            }
        ],
        id="plain-text-document",
    ),
]


@pytest.mark.parametrize(("body", "messages"), MESSAGE_CASES)
def test_messages(body: dict[str, Any], messages: list[dict[str, Any]]) -> None:
    chat = _chat(body)
    assert chat["model"] == "qwen3-8b" and chat["max_tokens"] == 256
    assert chat["messages"] == messages


def test_claude_code_shaped_request() -> None:
    tools = [
        {
            "name": name,
            "description": f"{name} tool",
            "input_schema": {
                "type": "object",
                "$schema": "http://json-schema.org/draft-07/schema#",
                "additionalProperties": False,
                "properties": {"arg": {"type": "string"}},
                "required": ["arg"],
            },
        }
        for name in ("Task", "Bash", "Glob", "Grep", "Read", "Edit", "Write", "WebFetch", "TodoWrite", "LS")
    ]
    body = {
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 32000,
        "stream": True,
        "temperature": 1,
        "metadata": {"user_id": "user_abc_account__session_123"},
        "system": [
            {
                "type": "text",
                "text": "You are Claude Code, Anthropic's official CLI for Claude.",
                "cache_control": {"type": "ephemeral"},
            },
            {
                "type": "text",
                "text": "You are an interactive CLI tool...",
                "cache_control": {"type": "ephemeral"},
            },
        ],
        "tools": tools,
        "thinking": {"type": "enabled", "budget_tokens": 31999},
        "context_management": {"edits": []},  # unknown top-level fields are ignored
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "<system-reminder>context</system-reminder>"},
                    {"type": "text", "text": "Fix the failing test", "cache_control": {"type": "ephemeral"}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Look first.", "signature": "EqQB..."},
                    {"type": "text", "text": "I'll look."},
                    {"type": "tool_use", "id": "toolu_01A", "name": "Grep", "input": {"arg": "def test_"}},
                    {"type": "tool_use", "id": "toolu_01B", "name": "Read", "input": {"arg": "tests/x.py"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "tests/x.py:3"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01B",
                        "content": [{"type": "text", "text": "1\tdef test_x"}],
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_01C", "name": "Bash", "input": {"arg": "pytest"}}
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01C",
                        "is_error": True,
                        "content": "<tool_use_error>exit 1</tool_use_error>",
                    },
                    {"type": "text", "text": "keep going", "cache_control": {"type": "ephemeral"}},
                ],
            },
        ],
    }
    chat = _chat(json.dumps(body).encode())
    assert [m["role"] for m in chat["messages"]] == [
        "system",
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
        "tool",
        "user",
    ]
    assert (
        chat["messages"][0]["content"].startswith("You are Claude Code")
        and "\n\nYou are an interactive" in chat["messages"][0]["content"]
    )
    assert [c["function"]["name"] for c in chat["messages"][2]["tool_calls"]] == ["Grep", "Read"]
    assert [m["tool_call_id"] for m in chat["messages"] if m["role"] == "tool"] == ["01A", "01B", "01C"]
    assert chat["messages"][6]["content"] == "Error: <tool_use_error>exit 1</tool_use_error>"
    assert len(chat["tools"]) == 10 and chat["tools"][0]["function"]["parameters"]["required"] == ["arg"]
    assert chat["user"] == "user_abc_account__session_123" and chat["reasoning_effort"] == "high"
    assert chat["stream_options"] == {"include_usage": True} and chat["max_tokens"] == 32000
    assert "context_management" not in chat and "continue_final_message" not in chat
