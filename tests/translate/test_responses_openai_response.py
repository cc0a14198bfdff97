"""Chat completion → Responses `response` object (non-streamed)."""

from __future__ import annotations

from typing import Any

import pytest

from modelport import errors
from modelport.protocols import openai_responses as rs
from modelport.translate.responses_openai import new_turn, response_from_chat


def turn(**fields: Any):  # type: ignore[no-untyped-def]
    return new_turn(rs.ResponsesRequest(model="m", input="x", **fields), "served")


def completion(message: dict[str, Any], finish: str = "stop", **extra: Any) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "choices": [{"index": 0, "message": message, "finish_reason": finish}], **extra}


def test_text_reasoning_and_tool_calls_become_items_in_order() -> None:
    message = {"role": "assistant", "content": "hi", "reasoning_content": "hmm",
               "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}},
                              {"type": "function", "function": {"name": "g", "arguments": {"b": 2}}}]}
    usage = {"prompt_tokens": 10, "completion_tokens": 4, "prompt_tokens_details": {"cached_tokens": 6},
             "completion_tokens_details": {"reasoning_tokens": 2}}
    response = response_from_chat(completion(message, "tool_calls", usage=usage),
                                  turn(metadata={"a": "b"}, store=False, temperature=0.3))
    assert response["object"] == "response" and response["status"] == "completed" and response["model"] == "served"
    assert response["id"].startswith("resp_") and response["metadata"] == {"a": "b"} and response["store"] is False
    assert response["temperature"] == 0.3 and response["error"] is None
    output = response["output"]
    assert [item["type"] for item in output] == ["reasoning", "message", "function_call", "function_call"]
    assert output[1]["content"] == [{"type": "output_text", "text": "hi", "annotations": [], "logprobs": []}]
    assert (output[2]["call_id"], output[2]["name"], output[2]["arguments"]) == ("call_1", "f", "{\"a\":1}")
    assert output[3]["call_id"].startswith("call_") and output[3]["arguments"] == "{\"b\":2}"
    assert response["usage"] == {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 6, "cache_write_tokens": 0},
                                 "output_tokens": 4, "output_tokens_details": {"reasoning_tokens": 2},
                                 "total_tokens": 14}


def test_length_is_incomplete_and_empty_text_has_no_message() -> None:
    response = response_from_chat(completion({"role": "assistant", "content": ""}, "length"), turn())
    assert response["status"] == "incomplete" and response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["output"] == [] and response["usage"]["total_tokens"] == 0


def test_the_request_is_echoed() -> None:
    request = rs.ResponsesRequest(
        model="m", input="x", instructions="i", max_output_tokens=5, tools=[rs.FunctionTool(name="f")],
        text=rs.TextConfig(format=rs.JsonSchemaFormat(name="n", schema={"type": "object"})),
        reasoning=rs.Reasoning(effort="low"), previous_response_id="resp_0")
    response = response_from_chat(completion({"role": "assistant", "content": "ok"}), new_turn(request, "s"))
    assert response["instructions"] == "i" and response["max_output_tokens"] == 5
    assert response["tools"] == [{"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}]
    assert response["text"] == {"format": {"type": "json_schema", "name": "n", "schema": {"type": "object"}}}
    assert response["reasoning"] == {"effort": "low", "summary": None}
    assert response["previous_response_id"] == "resp_0" and response["tool_choice"] == "auto"
    assert response["parallel_tool_calls"] is True


@pytest.mark.parametrize("chat", [{"choices": []}, {"choices": "nope"}, {"choices": [{"finish_reason": "stop"}]},
                                  {"choices": [{"message": {"content": 5}}]}, [1]])
def test_an_unreadable_completion_is_a_bad_answer(chat: Any) -> None:
    with pytest.raises(errors.BadUpstreamResponse):
        response_from_chat(chat, turn())
