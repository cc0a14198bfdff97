"""The official `anthropic` Python SDK, unmodified, on the built-in chat model through `/v1/messages`: create,
stream, a forced tool call, count_tokens, stop sequences, structured output and the context-overflow error."""

from __future__ import annotations

import json

import anthropic
import pytest

from tests.clients.conftest import CHAT, Served

HELLO = [{"role": "user", "content": "Say hello."}]
WEATHER = {"name": "get_weather", "description": "Current weather in a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False}


@pytest.fixture(scope="module")
def client(served: Served) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=served.url, api_key=served.key, max_retries=0)


def test_create_answers(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model=CHAT, max_tokens=16, messages=HELLO, system="Be brief.")  # type: ignore[arg-type]
    assert message.content[0].type == "text" and message.content[0].text.strip()
    assert message.usage.input_tokens > 0 and 0 < message.usage.output_tokens <= 16


def test_stream_arrives_in_several_deltas(client: anthropic.Anthropic) -> None:
    with client.messages.stream(model=CHAT, max_tokens=16, messages=HELLO) as stream:  # type: ignore[arg-type]
        deltas = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(deltas) > 1 and "".join(deltas) == final.content[0].text  # type: ignore[union-attr]


def test_message_start_carries_the_input_tokens(client: anthropic.Anthropic) -> None:
    whole = client.messages.create(model=CHAT, max_tokens=8, messages=HELLO)  # type: ignore[arg-type]
    events = list(client.messages.create(model=CHAT, max_tokens=8, messages=HELLO, stream=True))  # type: ignore[arg-type]
    start = events[0]
    assert start.type == "message_start"
    assert start.message.usage.input_tokens == whole.usage.input_tokens > 0


def test_forced_tool_call_parses_against_the_schema(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=CHAT, max_tokens=32, tools=[WEATHER],  # type: ignore[list-item]
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
    )
    use = next(block for block in message.content if block.type == "tool_use")
    assert use.name == "get_weather" and isinstance(use.input["city"], str)  # type: ignore[index]
    assert message.stop_reason == "tool_use"


def test_count_tokens(client: anthropic.Anthropic) -> None:
    counted = client.messages.count_tokens(model=CHAT, messages=HELLO)  # type: ignore[arg-type]
    created = client.messages.create(model=CHAT, max_tokens=4, messages=HELLO)  # type: ignore[arg-type]
    assert counted.input_tokens == created.usage.input_tokens > 0


def test_more_than_four_stop_sequences_and_the_matched_one_reported(client: anthropic.Anthropic) -> None:
    stops = [" ", "\n", ".", ",", "!", "?"]
    message = client.messages.create(model=CHAT, max_tokens=32, stop_sequences=stops,
                                     messages=[{"role": "user", "content": "Write a long sentence about the sea."}])
    assert message.stop_reason == "stop_sequence" and message.stop_sequence in stops
    text = "".join(block.text for block in message.content if block.type == "text")
    assert not any(stop in text for stop in stops)


def test_structured_output_follows_the_schema(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=CHAT, max_tokens=32, output_config={"format": {"type": "json_schema", "schema": CITY}},
        messages=[{"role": "user", "content": "Which city is the capital of France? Answer in JSON."}],
    )
    assert isinstance(json.loads(message.content[0].text)["city"], str)  # type: ignore[union-attr]


def test_context_overflow_in_anthropics_wording(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model=CHAT, max_tokens=8, messages=[{"role": "user", "content": "hello " * 9000}])
    assert caught.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert caught.value.body["error"]["message"].startswith("prompt is too long: ")  # type: ignore[index]
    assert caught.value.body["error"]["message"].endswith(" tokens > 8192 maximum")  # type: ignore[index]
