"""chat_request_from_messages: Anthropic Messages bodies → OpenAI chat requests, and malformed bodies → 400."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelport import errors
from modelport.translate.anthropic_openai import chat_request_from_messages


def _body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "claude-sonnet-4-5", "max_tokens": 256,
                            "messages": [{"role": "user", "content": "Hi"}]}
    body.update(fields)
    return body


def _chat(body: dict[str, Any] | bytes, **kwargs: Any) -> dict[str, Any]:
    return chat_request_from_messages(body, upstream_model="qwen3-8b", **kwargs)


IMG = "iVBORw0KGgo="

MESSAGE_CASES = [
    pytest.param(
        _body(system="Be brief."),
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        id="system-string",
    ),
    pytest.param(
        _body(system=[{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
                      {"type": "text", "text": "Rules."}]),
        [{"role": "system", "content": "You are Claude Code.\n\nRules."}, {"role": "user", "content": "Hi"}],
        id="system-blocks-cache-control",
    ),
    pytest.param(
        _body(system=[{"type": "text", "text": "B", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
                      {"type": "text", "text": "A"}, {"type": "text", "text": "C"}]),
        [{"role": "system", "content": "B\n\nA\n\nC"}, {"role": "user", "content": "Hi"}],
        id="system-blocks-merged-in-given-order",
    ),
    pytest.param(
        _body(messages=[{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": IMG}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}]}]),
        [{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{IMG}"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]}],
        id="images-base64-and-url",
    ),
    pytest.param(
        _body(messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_01abc", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [
                {"type": "text", "text": "(also, be quick)"},
                {"type": "tool_result", "tool_use_id": "toolu_01abc", "content": "18°C, sunny"}]}]),
        [{"role": "user", "content": "Weather in Paris?"},
         {"role": "assistant", "content": "Let me check.", "tool_calls": [
             {"id": "01abc", "type": "function",
              "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
         {"role": "tool", "tool_call_id": "01abc", "content": "18°C, sunny"},
         {"role": "user", "content": "(also, be quick)"}],
        id="tool-use-and-result-before-user-text",
    ),
    pytest.param(
        _body(messages=[
            {"role": "user", "content": "Run it"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "call_9", "name": "bash", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_9", "is_error": True,
                                          "content": [{"type": "text", "text": "exit 1"},
                                                      {"type": "text", "text": "no such file"}]}]}]),
        [{"role": "user", "content": "Run it"},
         {"role": "assistant", "content": None, "tool_calls": [
             {"id": "call_9", "type": "function", "function": {"name": "bash", "arguments": "{}"}}]},
         {"role": "tool", "tool_call_id": "call_9", "content": "Error: exit 1\nno such file"}],
        id="tool-result-is-error-block-content",
    ),
    pytest.param(
        _body(messages=[
            {"role": "user", "content": "Screenshot"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_s", "name": "shot", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_s", "content": [
                {"type": "text", "text": "captured"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": IMG}}]}]}]),
        [{"role": "user", "content": "Screenshot"},
         {"role": "assistant", "content": None, "tool_calls": [
             {"id": "s", "type": "function", "function": {"name": "shot", "arguments": "{}"}}]},
         {"role": "tool", "tool_call_id": "s", "content": "captured"},
         {"role": "user", "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{IMG}"}}]}],
        id="tool-result-image-moves-to-user",
    ),
    pytest.param(
        _body(messages=[{"role": "user", "content": "a"}, {"role": "user", "content": [{"type": "text", "text": "b"}]},
                        {"role": "assistant", "content": "c"}, {"role": "assistant", "content": "d"},
                        {"role": "user", "content": "e"}]),
        [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
         {"role": "assistant", "content": "c\nd"}, {"role": "user", "content": "e"}],
        id="consecutive-same-role-merged",
    ),
    pytest.param(
        _body(messages=[{"role": "user", "content": "Q"}, {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "think", "signature": "sig"},
            {"type": "redacted_thinking", "data": "xx"}, {"type": "text", "text": "A"}]},
            {"role": "user", "content": "Q2"}]),
        [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A", "reasoning_content": "think"},
         {"role": "user", "content": "Q2"}],
        id="thinking-history-as-reasoning-content",
    ),
    pytest.param(
        _body(messages=[{"role": "user", "content": [{"type": "document", "title": "notes.txt", "source": {
            "type": "text", "media_type": "text/plain", "data": "line 1"}}, {"type": "text", "text": "Summarise"}]}]),
        [{"role": "user", "content": [{"type": "text", "text": "notes.txt\n\nline 1"},
                                      {"type": "text", "text": "Summarise"}]}],
        id="plain-text-document",
    ),
]


@pytest.mark.parametrize(("body", "messages"), MESSAGE_CASES)
def test_messages(body: dict[str, Any], messages: list[dict[str, Any]]) -> None:
    chat = _chat(body)
    assert chat["model"] == "qwen3-8b" and chat["max_tokens"] == 256
    assert chat["messages"] == messages


TOOLS = [{"name": "get_weather", "description": "Weather for a city",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
          "cache_control": {"type": "ephemeral"}},
         {"name": "noop", "input_schema": {"type": "object", "properties": {}}}]

PARAM_CASES = [
    pytest.param({"tools": TOOLS}, {"tools": [
        {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                          "parameters": TOOLS[0]["input_schema"]}},
        {"type": "function", "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}}}]},
        id="tools"),
    pytest.param({"tools": TOOLS, "tool_choice": {"type": "auto"}}, {"tool_choice": "auto"}, id="choice-auto"),
    pytest.param({"tools": TOOLS, "tool_choice": {"type": "any"}}, {"tool_choice": "required"}, id="choice-any"),
    pytest.param({"tools": TOOLS, "tool_choice": {"type": "none"}}, {"tool_choice": "none"}, id="choice-none"),
    pytest.param({"tools": TOOLS, "tool_choice": {"type": "tool", "name": "noop"}},
                 {"tool_choice": {"type": "function", "function": {"name": "noop"}}}, id="choice-tool"),
    pytest.param({"tools": TOOLS, "tool_choice": {"type": "auto", "disable_parallel_tool_use": True}},
                 {"tool_choice": "auto", "parallel_tool_calls": False}, id="disable-parallel"),
    pytest.param({"tool_choice": {"type": "any"}}, {"tool_choice": None, "tools": None}, id="choice-without-tools"),
    pytest.param({"stop_sequences": ["###", "END"]}, {"stop": ["###", "END"]}, id="stop-sequences"),
    pytest.param({"temperature": 0.2, "top_p": 0.9, "top_k": 40}, {"temperature": 0.2, "top_p": 0.9, "top_k": 40},
                 id="sampling"),
    pytest.param({"metadata": {"user_id": "u-42"}}, {"user": "u-42"}, id="metadata-user"),
    pytest.param({"stream": True}, {"stream": True, "stream_options": {"include_usage": True}}, id="stream"),
    pytest.param({"stream": False}, {"stream": False, "stream_options": None}, id="no-stream"),
    pytest.param({"thinking": {"type": "enabled", "budget_tokens": 1024}},
                 {"reasoning_effort": "low", "chat_template_kwargs": {"enable_thinking": True, "thinking": True}},
                 id="thinking-low"),
    pytest.param({"thinking": {"type": "enabled", "budget_tokens": 10000}}, {"reasoning_effort": "medium"},
                 id="thinking-medium"),
    pytest.param({"thinking": {"type": "enabled", "budget_tokens": 31999}}, {"reasoning_effort": "high"},
                 id="thinking-high"),
    pytest.param({"thinking": {"type": "disabled"}},
                 {"reasoning_effort": None, "chat_template_kwargs": {"enable_thinking": False, "thinking": False}},
                 id="thinking-disabled"),
    pytest.param({}, {"reasoning_effort": None, "chat_template_kwargs": None, "top_k": None, "stop": None,
                      "continue_final_message": None}, id="defaults-add-nothing"),
    pytest.param({"messages": [{"role": "user", "content": "Say hi"}, {"role": "assistant", "content": "Hi, I"}]},
                 {"continue_final_message": True, "add_generation_prompt": False}, id="assistant-prefill"),
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


def test_claude_code_shaped_request() -> None:
    tools = [{"name": name, "description": f"{name} tool", "input_schema": {
        "type": "object", "$schema": "http://json-schema.org/draft-07/schema#", "additionalProperties": False,
        "properties": {"arg": {"type": "string"}}, "required": ["arg"]}}
        for name in ("Task", "Bash", "Glob", "Grep", "Read", "Edit", "Write", "WebFetch", "TodoWrite", "LS")]
    body = {
        "model": "claude-sonnet-4-5-20250929", "max_tokens": 32000, "stream": True, "temperature": 1,
        "metadata": {"user_id": "user_abc_account__session_123"},
        "system": [{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.",
                    "cache_control": {"type": "ephemeral"}},
                   {"type": "text", "text": "You are an interactive CLI tool...", "cache_control": {"type": "ephemeral"}}],
        "tools": tools,
        "thinking": {"type": "enabled", "budget_tokens": 31999},
        "context_management": {"edits": []},  # unknown top-level fields are ignored
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>context</system-reminder>"},
                {"type": "text", "text": "Fix the failing test", "cache_control": {"type": "ephemeral"}}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Look first.", "signature": "EqQB..."},
                {"type": "text", "text": "I'll look."},
                {"type": "tool_use", "id": "toolu_01A", "name": "Grep", "input": {"arg": "def test_"}},
                {"type": "tool_use", "id": "toolu_01B", "name": "Read", "input": {"arg": "tests/x.py"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "tests/x.py:3"},
                {"type": "tool_result", "tool_use_id": "toolu_01B", "content": [{"type": "text", "text": "1\tdef test_x"}]}]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_01C", "name": "Bash", "input": {"arg": "pytest"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01C", "is_error": True,
                 "content": "<tool_use_error>exit 1</tool_use_error>"},
                {"type": "text", "text": "keep going", "cache_control": {"type": "ephemeral"}}]},
        ],
    }
    chat = _chat(json.dumps(body).encode())
    assert [m["role"] for m in chat["messages"]] == ["system", "user", "assistant", "tool", "tool", "assistant", "tool", "user"]
    assert chat["messages"][0]["content"].startswith("You are Claude Code") and "\n\nYou are an interactive" in chat["messages"][0]["content"]
    assert [c["function"]["name"] for c in chat["messages"][2]["tool_calls"]] == ["Grep", "Read"]
    assert [m["tool_call_id"] for m in chat["messages"] if m["role"] == "tool"] == ["01A", "01B", "01C"]
    assert chat["messages"][6]["content"] == "Error: <tool_use_error>exit 1</tool_use_error>"
    assert len(chat["tools"]) == 10 and chat["tools"][0]["function"]["parameters"]["required"] == ["arg"]
    assert chat["user"] == "user_abc_account__session_123" and chat["reasoning_effort"] == "high"
    assert chat["stream_options"] == {"include_usage": True} and chat["max_tokens"] == 32000
    assert "context_management" not in chat and "continue_final_message" not in chat


BAD_CASES = [
    pytest.param({"model": "m", "messages": [{"role": "user", "content": "x"}]}, "max_tokens", id="no-max-tokens"),
    pytest.param(_body(max_tokens=0), "max_tokens", id="zero-max-tokens"),
    pytest.param(_body(max_tokens="100"), "max_tokens", id="string-max-tokens"),
    pytest.param(_body(messages={"role": "user"}), "messages", id="messages-not-list"),
    pytest.param(_body(messages=[]), "messages", id="messages-empty"),
    pytest.param(_body(messages=[{"role": "system", "content": "x"}]), "messages.0.role", id="system-role"),
    pytest.param(_body(messages=[{"role": "tool", "content": "x"}]), "messages.0.role", id="tool-role"),
    pytest.param(_body(messages=[{"role": "user", "content": 5}]), "messages.0.content", id="content-int"),
    pytest.param(_body(messages=[{"role": "user", "content": [{"type": "audio", "data": "x"}]}]),
                 "messages.0.content.0.type", id="unknown-block"),
    pytest.param(_body(messages=[{"role": "user", "content": [{"text": "no type"}]}]),
                 "messages.0.content.0.type", id="block-without-type"),
    pytest.param(_body(messages=[{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]),
                 "messages.0.content.0.tool_use_id", id="tool-result-without-id"),
    pytest.param(_body(messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": [
        {"type": "tool_use", "name": "f", "input": {}}]}]), "messages.1.content.0.id", id="tool-use-without-id"),
    pytest.param(_body(messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": [
        {"type": "tool_use", "id": "", "name": "f", "input": {}}]}]), "messages.1.content.0.id", id="tool-use-empty-id"),
    pytest.param(_body(messages=[{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_nowhere", "content": "x"}]}]),
                 "messages.0.content.0.tool_use_id", id="tool-result-unmatched"),
    pytest.param(_body(messages=[{"role": "user", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]}]),
                 "messages.0.content.0", id="tool-use-in-user"),
    pytest.param(_body(messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": [
        {"type": "tool_use", "id": "t1", "name": "f", "input": {}}, {"type": "tool_use", "id": "t1", "name": "g", "input": {}}]}]),
                 "messages.1.content.1.id", id="duplicate-tool-use-id"),
    pytest.param(_body(messages=[{"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}]}]),
                 "messages.0.content.0.source.type", id="image-file-source"),
    pytest.param(_body(messages=[{"role": "user", "content": [{"type": "document", "source": {
        "type": "base64", "media_type": "application/pdf", "data": "JVBER"}}]}]), "messages.0.content.0.source", id="pdf"),
    pytest.param(_body(tools=[{"type": "web_search_20250305", "name": "web_search"}]), "tools.0.type", id="server-tool"),
    pytest.param(_body(tool_choice={"type": "sometimes"}), "tool_choice.type", id="bad-tool-choice"),
    pytest.param(_body(thinking={"type": "enabled"}), "thinking.budget_tokens", id="thinking-without-budget"),
    pytest.param(_body(system=[{"type": "image", "source": {"type": "url", "url": "u"}}]), "system", id="system-image"),
    pytest.param(_body(stop_sequences="###"), "stop_sequences", id="stop-sequences-string"),
]


@pytest.mark.parametrize(("body", "param"), BAD_CASES)
def test_malformed_requests(body: dict[str, Any], param: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        _chat(body)
    assert caught.value.param is not None and caught.value.param.startswith(param), caught.value.message
    assert caught.value.message.startswith(caught.value.param)
    assert caught.value.status == 400


@pytest.mark.parametrize("raw", [b"{not json", b"", b'{"model": "m"'])
def test_invalid_json(raw: bytes) -> None:
    with pytest.raises(errors.InvalidJSON):
        _chat(raw)


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"42"])
def test_body_not_an_object(raw: bytes) -> None:
    with pytest.raises(errors.BadRequest, match="JSON object"):
        _chat(raw)


def test_error_renders_anthropic_shaped() -> None:
    with pytest.raises(errors.BadRequest) as caught:
        _chat({"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert json.loads(caught.value.anthropic_body()) == {
        "type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"}}
