"""A worker's JSON bodies are decoded into their wire schemas (`protocols/`): the parsing is conversion, and
each way a body can be wrong is a 400 whose `param` is the request parameter and whose message names the
exact place (issue 13, item 4)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from modelport.errors import BadRequest, InvalidJSON
from modelport.protocols.openai_generation import ChatCompletionRequest
from modelport.protocols.validation import decode_request
from modelport.worker import media_parse, parse

HI = [{"role": "user", "content": "hi"}]


def chat(**body: Any) -> parse.GenerationCall:
    return parse.generation_call(orjson.dumps({"messages": HI, **body}), chat=True)


def refused(call: Any, *args: Any) -> BadRequest:
    with pytest.raises(BadRequest) as raised:
        call(*args)
    return raised.value


def test_a_chat_body_becomes_the_engine_request() -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                {"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "f", "arguments": {}}}]},
                {"role": "tool", "content": "42", "tool_call_id": "call_0"}]
    call = parse.generation_call(orjson.dumps({
        "messages": messages, "tools": [{"function": {"name": "f", "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}}, "stop": "x", "seed": -1, "n": 2,
        "stream": True, "stream_options": {"include_usage": True}, "max_completion_tokens": 9,
        "response_format": {"type": "json_schema", "json_schema": {"schema": {}}}, "temperature": 0,
    }), chat=True)
    request = call.requests[0]
    assert request.messages == (
        {"role": "user", "content": "ab"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_0", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "content": "42", "tool_call_id": "call_0"},
    )
    assert request.tools == ({"type": "function", "function": {"name": "f", "description": "",
                                                               "parameters": {"type": "object"}}},)
    assert (request.tool_choice, request.tool_name, request.stop, request.seed) == ("function", "f", ("x",), 0x7FFFFFFF)
    assert request.response_format == {"type": "json_schema", "json_schema": {"schema": {}}}
    assert (request.max_tokens, request.temperature, request.top_p) == (9, 0.0, None)  # top_p unset: the engine's default
    assert (call.n, call.stream, call.include_usage) == (2, True, True)


def test_completions_take_a_prompt_or_a_list_and_default_to_16_tokens() -> None:
    call = parse.generation_call(b'{"prompt": ["a", "b"], "logprobs": 2, "max_tokens": null}', chat=False)
    assert [r.prompt for r in call.requests] == ["a", "b"]
    assert all(r.max_tokens == 16 and r.logprobs and r.top_logprobs == 2 for r in call.requests)
    assert parse.generation_call(b'{"prompt": "a"}', chat=False).requests[0].prompt == "a"


@pytest.mark.parametrize(("body", "param", "says"), [
    ({"temperature": 3}, "temperature", "temperature: Expected `float` <= 2.0"),
    ({"temperature": True}, "temperature", "got `bool`"),
    ({"stop": ["x"] * 65}, "stop", "length <= 64"),
    ({"n": 17}, "n", "n: Expected `int` <= 16"),
    ({"messages": []}, "messages", "length >= 1"),
    ({"messages": [{"content": "hi"}]}, "messages", "messages[0].role: Field required"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages",
     "messages[0].content[0].type: unknown or unsupported type 'image_url'"),
    ({"tools": [{"type": "code", "function": {"name": "a"}}]}, "tools", "'code' is not one of function"),
    ({"tools": [{"function": {"name": "a b"}}]}, "tools", "tools[0].function.name"),
    ({"tools": [{"function": {"name": "a"}}, {"function": {"name": "a"}}]}, "tools", "unique"),
    ({"tool_choice": "always", "tools": [{"function": {"name": "a"}}]}, "tool_choice",
     "'always' is not one of none, auto, required"),
    ({"tool_choice": {"type": "function", "function": {"name": "b"}}, "tools": [{"function": {"name": "a"}}]},
     "tool_choice", "not in 'tools'"),
    ({"response_format": {"type": "xml"}}, "response_format", "not one of text, json_object, json_schema"),
    ({"stream_options": {"include_usage": True}}, "stream_options", "only allowed when 'stream' is true"),
    ({"top_logprobs": 2}, "top_logprobs", "requires 'logprobs'"),
    ({"continue_final_message": True}, "messages", "final assistant message"),
])
def test_a_bad_chat_field_is_a_400_naming_it(body: dict[str, Any], param: str, says: str) -> None:
    error = refused(lambda: chat(**body))
    assert error.param == param and says in error.message, error.message


@pytest.mark.parametrize("raw", [b"[1]", b"[" * 100_000, b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
                                 b'{"model": "m", "x": ' + b'{"a":' * 100_000, b"\xff"])
def test_what_is_not_a_json_object_within_bounds_is_a_400(raw: bytes) -> None:
    with pytest.raises(BadRequest):
        decode_request(raw, ChatCompletionRequest)


def test_non_objects_are_invalid_json() -> None:
    with pytest.raises(InvalidJSON, match="must be a JSON object"):
        decode_request(b"[1]", ChatCompletionRequest)


def test_images_name_the_formats_they_take() -> None:
    error = refused(media_parse.image_generation_call, b'{"prompt": "x", "output_format": "gif"}')
    assert error.param == "output_format" and "png, jpeg, webp" in error.message
    assert refused(media_parse.image_generation_call, b'{"prompt": " "}').param == "prompt"
    assert refused(media_parse.image_generation_call, b'{"n": 1}').message == "prompt: Field required"
    call = media_parse.image_generation_call(b'{"prompt": "a cat", "size": "64x128", "response_format": "url"}')
    assert (call.request.width, call.request.height, call.request.n, call.response_format) == (64, 128, 1, "url")
    assert (call.request.output_format, call.request.output_compression) == ("png", 100)
