"""Anthropic's Messages API, driven by the official anthropic SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import pytest

from modelport.testing import FakeUpstream

USER = [{"role": "user", "content": "Hello claude fake"}]


@pytest.fixture
async def claude(fake: FakeUpstream) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(base_url=fake.root_url, api_key="unused", max_retries=0) as sdk:
        yield sdk


async def test_create(claude: anthropic.AsyncAnthropic) -> None:
    message = await claude.messages.create(model="fake-model", max_tokens=100, messages=USER)
    assert message.type == "message" and message.model == "fake-model"
    assert message.content[0].text == "Echo: Hello claude fake"
    assert message.stop_reason == "end_turn" and message.usage.output_tokens == 4
    cut = await claude.messages.create(model="fake-model", max_tokens=2, messages=USER)
    assert cut.content[0].text == "Echo: Hello" and cut.stop_reason == "max_tokens"
    stopped = await claude.messages.create(model="fake-model", max_tokens=9, messages=USER,
                                           stop_sequences=["fake"])
    assert stopped.stop_reason == "stop_sequence" and stopped.stop_sequence == "fake"


async def test_stream_event_order(claude: anthropic.AsyncAnthropic) -> None:
    async with claude.messages.stream(model="fake-model", max_tokens=100, messages=USER) as stream:
        events = [event.type async for event in stream]
        final = await stream.get_final_message()
    raw = [e for e in events if e not in ("text",)]
    assert raw[:2] == ["message_start", "content_block_start"]
    assert raw[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert final.content[0].text == "Echo: Hello claude fake"


async def test_tool_use_stream(claude: anthropic.AsyncAnthropic) -> None:
    tool = {"name": "get_weather", "description": "w",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}
    messages = [{"role": "user", "content": "call tool now"}]
    async with claude.messages.stream(model="fake-model", max_tokens=100, messages=messages,
                                      tools=[tool]) as stream:
        final = await stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert final.content[0].name == "get_weather" and final.content[0].input == {"city": "Paris"}


async def test_errors_are_anthropic_shaped(claude: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        await claude.messages.create(model="nope", max_tokens=5, messages=USER)
    assert missing.value.body["type"] == "error"
    assert missing.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(anthropic.InternalServerError) as failed:
        await claude.messages.create(model="fake-model", max_tokens=5, messages=USER,
                                     extra_headers={"x-fake-status": "500"})
    assert failed.value.body["error"]["type"] == "api_error"


async def test_api_key_via_x_api_key() -> None:
    async with FakeUpstream(api_key="sk-x") as fake:
        async with anthropic.AsyncAnthropic(base_url=fake.root_url, api_key="sk-x", max_retries=0) as good:
            assert (await good.messages.create(model="fake-model", max_tokens=5, messages=USER)).content
        async with anthropic.AsyncAnthropic(base_url=fake.root_url, api_key="bad", max_retries=0) as bad:
            with pytest.raises(anthropic.AuthenticationError):
                await bad.messages.create(model="fake-model", max_tokens=5, messages=USER)
