"""Tools, stop sequences and prefill on the built-in chat model, through the gateway (openai and anthropic SDKs)."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest

from tests.harness import LiveGateway

MODEL = "smollm2-135m-instruct"
PARAMS = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
    "required": ["city", "unit"],
}
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
                                            "parameters": PARAMS}}  # fmt: skip
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]
ZERO = {"temperature": 0}  # this anthropic SDK takes no temperature argument
STOPS = ["@@", "zqx", "<END>", "###", "never-said", " is "]


def check_weather(args: Any) -> None:
    """Valid for PARAMS (by hand: jsonschema is not installed)."""
    assert isinstance(args, dict) and set(args) == {"city", "unit"}
    assert isinstance(args["city"], str) and args["unit"] in ("celsius", "fahrenheit")


@pytest.fixture(scope="module")
def client(builtin_gateway: LiveGateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=builtin_gateway.v1, api_key=builtin_gateway.admin_key, max_retries=0)


@pytest.fixture(scope="module")
def claude(builtin_gateway: LiveGateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=builtin_gateway.url, api_key=builtin_gateway.admin_key, max_retries=0)


def test_forced_tool_call_through_the_gateway(client: openai.OpenAI) -> None:
    named = {"type": "function", "function": {"name": "get_weather"}}
    reply = _chat(client, model=MODEL, messages=ASK, tools=[WEATHER], tool_choice=named,
                                           temperature=0, max_tokens=48)  # fmt: skip
    assert reply.choices[0].finish_reason == "tool_calls"
    [call] = reply.choices[0].message.tool_calls or []
    check_weather(json.loads(call.function.arguments))
    chunks = list(_chat(client, model=MODEL, messages=ASK, tools=[WEATHER], tool_choice="required",
                                                 temperature=0, max_tokens=48, stream=True))  # fmt: skip
    pieces = [c.choices[0].delta.tool_calls[0] for c in chunks if c.choices and c.choices[0].delta.tool_calls]
    assert pieces[0].id and pieces[0].function and pieces[0].function.name == "get_weather"
    check_weather(json.loads("".join(p.function.arguments or "" for p in pieces if p.function)))
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]


def _chat(client: openai.OpenAI, **kwargs: Any) -> Any:
    return client.chat.completions.create(**kwargs)


def _create(claude: anthropic.Anthropic, **kwargs: Any) -> Any:
    return claude.messages.create(**kwargs)


def _stream(claude: anthropic.Anthropic, **kwargs: Any) -> Any:
    return claude.messages.stream(**kwargs)


def _anthropic_tool() -> dict[str, Any]:
    return {"name": "get_weather", "description": "Weather of a city", "input_schema": PARAMS}


def test_messages_forced_tool_is_a_tool_use_block(claude: anthropic.Anthropic) -> None:
    reply = _create(claude, model=MODEL, max_tokens=48, extra_body=ZERO, messages=ASK,
                                   tools=[_anthropic_tool()], tool_choice={"type": "tool", "name": "get_weather"})  # fmt: skip
    assert reply.stop_reason == "tool_use"
    [block] = [b for b in reply.content if b.type == "tool_use"]
    assert block.name == "get_weather"
    check_weather(block.input)
    with _stream(claude, model=MODEL, max_tokens=48, extra_body=ZERO, messages=ASK,
                                tools=[_anthropic_tool()], tool_choice={"type": "any"}) as stream:  # fmt: skip
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    check_weather(next(b for b in final.content if b.type == "tool_use").input)


def test_messages_stop_sequence_is_reported(claude: anthropic.Anthropic) -> None:
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    reply = _create(claude, model=MODEL, max_tokens=48, extra_body=ZERO, system="Answer in one short sentence.",
                                   messages=messages, stop_sequences=STOPS)  # fmt: skip
    assert reply.stop_reason == "stop_sequence" and reply.stop_sequence == " is "
    with _stream(claude, model=MODEL, max_tokens=48, extra_body=ZERO, system="Answer in one short sentence.",
                                messages=messages, stop_sequences=STOPS) as stream:  # fmt: skip
        final = stream.get_final_message()
    assert final.stop_reason == "stop_sequence" and final.stop_sequence == " is "


def test_messages_prefill_is_continued(claude: anthropic.Anthropic) -> None:
    messages = [{"role": "user", "content": "What is the capital of France?"},
                {"role": "assistant", "content": "The capital of France is"}]  # fmt: skip
    reply = _create(claude, model=MODEL, max_tokens=4, extra_body=ZERO, messages=messages)
    text = "".join(b.text for b in reply.content if b.type == "text")
    assert "Paris" in text and not text.lstrip().startswith("The capital")
