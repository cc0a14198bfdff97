"""messages_response_from_chat: OpenAI chat completions → Anthropic messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelport.translate.anthropic_openai import messages_response_from_chat


def _completion(message: dict[str, Any], finish: str | None = "stop", **choice: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-9b1e",
        "object": "chat.completion",
        "created": 1730000000,
        "model": "qwen3-8b",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", **message},
                "logprobs": None,
                "finish_reason": finish,
                **choice,
            }
        ],
        "usage": {
            "prompt_tokens": 40,
            "total_tokens": 52,
            "completion_tokens": 12,
            "prompt_tokens_details": None,
        },
    }


def _call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


CONTENT_CASES = [
    pytest.param({"content": "Hello!"}, [{"type": "text", "text": "Hello!"}], id="text"),
    pytest.param(
        {"content": None, "tool_calls": [_call("chatcmpl-tool-1", "get_weather", '{"city": "Paris"}')]},
        [
            {
                "type": "tool_use",
                "id": "toolu_chatcmpl-tool-1",
                "name": "get_weather",
                "input": {"city": "Paris"},
            }
        ],
        id="tool-use",
    ),
    pytest.param(
        {"content": "Two calls.", "tool_calls": [_call("a", "f", "{}"), _call("b", "g", '{"x": [1, 2]}')]},
        [
            {"type": "text", "text": "Two calls."},
            {"type": "tool_use", "id": "toolu_a", "name": "f", "input": {}},
            {"type": "tool_use", "id": "toolu_b", "name": "g", "input": {"x": [1, 2]}},
        ],
        id="text-and-tools",
    ),
    pytest.param(
        {"tool_calls": [_call("c", "f", '{"broken": ')]},
        [{"type": "tool_use", "id": "toolu_c", "name": "f", "input": {}}],
        id="unparsable-arguments",
    ),
    pytest.param(
        {"tool_calls": [_call("d", "f", '["not", "an", "object"]')]},
        [{"type": "tool_use", "id": "toolu_d", "name": "f", "input": {}}],
        id="non-object-arguments",
    ),
    pytest.param(
        {"reasoning_content": "Think.", "content": "Answer."},
        [{"type": "thinking", "thinking": "Think.", "signature": ""}, {"type": "text", "text": "Answer."}],
        id="reasoning-content",
    ),
    pytest.param(
        {"reasoning": "Think.", "content": "Answer."},
        [{"type": "thinking", "thinking": "Think.", "signature": ""}, {"type": "text", "text": "Answer."}],
        id="reasoning-field",
    ),
    pytest.param({"content": ""}, [], id="empty"),
]


@pytest.mark.parametrize(("message", "content"), CONTENT_CASES)
def test_content(message: dict[str, Any], content: list[dict[str, Any]]) -> None:
    response = messages_response_from_chat(_completion(message), model="claude-sonnet-4-5")
    assert response["content"] == content
    assert response["model"] == "claude-sonnet-4-5"
    assert response["type"] == "message" and response["role"] == "assistant"
    assert response["id"] == "msg_9b1e"
    json.dumps(response)


STOP_CASES = [
    pytest.param("stop", {}, {}, (), ("end_turn", None), id="stop"),
    pytest.param("stop", {"stop_reason": "###"}, {}, ("###",), ("stop_sequence", "###"), id="stop-sequence"),
    pytest.param("stop", {"stop_reason": "###"}, {}, (), ("end_turn", None), id="stop-string-not-requested"),
    pytest.param("stop", {"stop_reason": 151645}, {}, ("###",), ("end_turn", None), id="stop-token-id"),
    pytest.param("length", {}, {}, (), ("max_tokens", None), id="length"),
    pytest.param(
        "tool_calls", {}, {"tool_calls": [_call("a", "f", "{}")]}, (), ("tool_use", None), id="tool-calls"
    ),
    pytest.param(
        "stop", {}, {"tool_calls": [_call("a", "f", "{}")]}, (), ("tool_use", None), id="stop-with-tools"
    ),
    pytest.param("content_filter", {}, {}, (), ("refusal", None), id="content-filter"),
    pytest.param(None, {}, {}, (), ("end_turn", None), id="missing"),
]


@pytest.mark.parametrize(("finish", "choice", "message", "stop_sequences", "expected"), STOP_CASES)
def test_stop_reason(
    finish: str | None,
    choice: dict[str, Any],
    message: dict[str, Any],
    stop_sequences: tuple[str, ...],
    expected: tuple[str, str | None],
) -> None:
    chat = _completion({"content": "x", **message}, finish, **choice)
    response = messages_response_from_chat(chat, model="m", stop_sequences=stop_sequences)
    assert (response["stop_reason"], response["stop_sequence"]) == expected


def test_usage() -> None:
    response = messages_response_from_chat(_completion({"content": "x"}), model="m")
    assert response["usage"] == {
        "input_tokens": 40,
        "output_tokens": 12,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    chat = _completion({"content": "x"})
    chat["usage"]["prompt_tokens_details"] = {"cached_tokens": 32}
    assert messages_response_from_chat(chat, model="m")["usage"]["input_tokens"] == 8
    assert messages_response_from_chat(chat, model="m")["usage"]["cache_read_input_tokens"] == 32
    del chat["usage"]
    assert messages_response_from_chat(chat, model="m")["usage"]["output_tokens"] == 0


def test_missing_ids_do_not_crash() -> None:
    """(No choices at all is a BadUpstreamResponse: test_anthropic_openai_broken.py.)"""
    response = messages_response_from_chat(
        {"choices": [{"message": {"tool_calls": [{"function": {"name": "f", "arguments": None}}]}}], "usage": None},
        model="m",
    )
    assert response["id"].startswith("msg_")
    assert response["content"][0]["id"].startswith("toolu_") and response["content"][0]["input"] == {}
