"""Responses request → chat request: decoding, the conversation, and the parameter mapping."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from modelport import errors
from modelport.protocols import openai_responses as rs
from modelport.translate.responses_openai import (
    chat_request_from_responses,
    decode_responses_request,
    input_items,
    items_from_json,
)


def chat(body: dict[str, Any], history: list[rs.InputItem] | None = None) -> dict[str, Any]:
    request = decode_responses_request(orjson.dumps({"model": "m", **body}))
    return chat_request_from_responses(request, history or [], upstream_model="up")


def test_a_string_input_is_one_user_message_after_the_instructions() -> None:
    assert chat({"input": "hi", "instructions": "be nice"}) == {
        "model": "up", "stream": False,
        "messages": [{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi"}]}


def test_items_become_chat_messages() -> None:
    items = [
        {"role": "system", "content": "sys"},
        {"role": "developer", "content": [{"type": "input_text", "text": "dev"}]},
        {"role": "user", "content": [{"type": "input_text", "text": "look"},
                                     {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "low"}]},
        {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "hmm"}]},
        {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
         "content": [{"type": "output_text", "text": "Let me check.", "annotations": []}]},
        {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{\"a\":1}"},
        {"type": "function_call", "call_id": "call_2", "name": "g", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "one"},
        {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "two"}]},
    ]
    assert chat({"input": items})["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "system", "content": "dev"},
        {"role": "user", "content": [{"type": "text", "text": "look"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA",
                                                                         "detail": "low"}}]},
        {"role": "assistant", "content": "Let me check.", "reasoning_content": "hmm",
         "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}},
                        {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "one"},
        {"role": "tool", "tool_call_id": "call_2", "content": "two"},
    ]


def test_a_function_call_after_a_tool_result_opens_a_new_assistant_message() -> None:
    items = [{"role": "user", "content": "go"},
             {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
             {"type": "function_call_output", "call_id": "c1", "output": "r"},
             {"type": "function_call", "call_id": "c2", "name": "f", "arguments": "{}"}]
    messages = chat({"input": items})["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[3] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c2", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}


def test_parameters_map_onto_chat() -> None:
    tool = {"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}, "strict": True}
    sent = chat({"input": "x", "max_output_tokens": 7, "temperature": 0.2, "top_p": 0.9, "user": "u", "stream": True,
                 "tools": [tool, {"type": "function", "name": "g"}], "tool_choice": {"type": "function", "name": "f"},
                 "parallel_tool_calls": False, "reasoning": {"effort": "high", "summary": "auto"},
                 "text": {"format": {"type": "json_object"}, "verbosity": "low"},
                 "store": False, "include": ["reasoning.encrypted_content"], "metadata": {"a": "b"},
                 "prompt_cache_key": "new-field", "service_tier": "auto"})
    assert sent == {
        "model": "up", "messages": [{"role": "user", "content": "x"}], "max_tokens": 7, "stream": True,
        "stream_options": {"include_usage": True}, "temperature": 0.2, "top_p": 0.9, "user": "u",
        "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"},
                                                    "strict": True}},
                  {"type": "function", "function": {"name": "g", "parameters": {"type": "object", "properties": {}}}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}}, "parallel_tool_calls": False,
        "response_format": {"type": "json_object"}, "reasoning_effort": "high",
    }


def test_json_schema_format_and_allowed_tools() -> None:
    tools = [{"type": "function", "name": "f"}, {"type": "function", "name": "g"}]
    sent = chat({"input": "x", "tools": tools,
                 "tool_choice": {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "g"}]},
                 "text": {"format": {"type": "json_schema", "name": "r", "schema": {"type": "object"},
                                     "description": "a reply", "strict": False}}})
    assert [t["function"]["name"] for t in sent["tools"]] == ["g"] and sent["tool_choice"] == "required"
    assert sent["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "r", "schema": {"type": "object"}, "description": "a reply", "strict": False}}


def test_tool_choice_without_tools_is_dropped() -> None:
    assert "tool_choice" not in chat({"input": "x", "tool_choice": "required"})


def test_history_comes_before_the_new_input_and_round_trips_through_json() -> None:
    first = decode_responses_request(b'{"model": "m", "input": "one"}')
    stored = [*orjson.loads(orjson.dumps([{"type": "message", "role": "user", "content": "one"}])),
              {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
               "content": [{"type": "output_text", "text": "two", "annotations": [], "logprobs": []}]}]
    history = items_from_json(stored)
    assert input_items(first) == history[:1]
    messages = chat({"input": "three"}, history)["messages"]
    assert messages == [{"role": "user", "content": "one"}, {"role": "assistant", "content": "two"},
                        {"role": "user", "content": "three"}]


@pytest.mark.parametrize(("body", "param"), [
    ({"input": [{"type": "file_search_call", "id": "x"}]}, "input.0.type"),
    ({"input": [{"type": "item_reference", "id": "msg_1_0"}]}, "input.0"),  # references are resolved before
    ({"input": [{"role": "tool", "content": "x"}]}, "input.0.role"),
    ({"input": "x", "tools": [{"type": "telepathy"}]}, "tools.0.type"),
    ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]}, "input.0.content.0"),
    ({"input": [{"role": "assistant", "content": [{"type": "input_image", "image_url": "http://x"}]}]},
     "input.0.content.0"),
    ({"input": "x", "tools": [{"type": "function", "name": "f"}], "tool_choice": {"type": "function", "name": "h"}},
     "tool_choice.name"),
    ({"input": "x", "tools": [{"type": "function", "name": "f"}], "tool_choice": "sometimes"}, "tool_choice"),
    ({"input": "x", "metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
    ({"input": [{"type": "function_call_output", "output": "x"}]}, "input.0.call_id"),
    ({"input": []}, "input"),
    ({}, "input"),
])
def test_invalid_requests_name_their_param(body: dict[str, Any], param: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        chat(body)
    assert caught.value.param == param


def test_too_many_items_and_not_json() -> None:
    with pytest.raises(errors.BadRequest) as caught:
        decode_responses_request(orjson.dumps({"model": "m", "input": ["x"] * (rs.MAX_INPUT_ITEMS + 1)}))
    assert caught.value.param == "input"
    with pytest.raises(errors.InvalidJSON):
        decode_responses_request(b"{nope")
    with pytest.raises(errors.BadRequest):
        decode_responses_request(b"[]")


def test_images_in_tool_outputs_follow_the_tool_messages_in_a_user_message() -> None:
    image = {"type": "input_image", "image_url": "https://example.com/a.png"}
    items = [{"role": "user", "content": "look"},
             {"type": "function_call", "call_id": "c1", "name": "shot", "arguments": "{}"},
             {"type": "function_call", "call_id": "c2", "name": "shot", "arguments": "{}"},
             {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "one"}, image]},
             {"type": "function_call_output", "call_id": "c2", "output": [image]}]
    messages = chat({"input": items})["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool", "user"]
    assert messages[2]["content"] == "one" and messages[3]["content"] == ""
    assert messages[4]["content"] == [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}] * 2


def test_codex_default_tools_a_namespace_is_flattened_and_hosted_tools_are_left_out() -> None:
    spawn = {"type": "function", "name": "spawn_agent", "parameters": {"type": "object", "properties": {}}}
    tools = [
        {"type": "function", "name": "shell", "parameters": {"type": "object", "properties": {}}},
        {"type": "namespace", "name": "multi_agent_v1", "description": "sub-agents", "tools": [spawn]},
        {"type": "web_search", "external_web_access": False},
        {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": ""}},
    ]
    request = chat({"input": "x", "tools": tools, "tool_choice": "auto"})
    assert [tool["function"]["name"] for tool in request["tools"]] == ["shell", "spawn_agent"]
    only_hosted = chat({"input": "x", "tools": tools[2:], "tool_choice": "auto"})
    assert "tools" not in only_hosted and "tool_choice" not in only_hosted
