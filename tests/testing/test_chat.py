"""Chat and text completions through the official openai SDK."""

from __future__ import annotations

import json

import openai
import pytest

from modelport.testing import FakeUpstream

USER = [{"role": "user", "content": "Hello there fake"}]
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                   "required": ["city"]}}}


async def test_chat_non_stream_shape(client: openai.AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(model="fake-model", messages=USER)
    assert reply.object == "chat.completion" and reply.model == "fake-model"
    assert reply.choices[0].message.content == "Echo: Hello there fake"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


async def test_chat_echoes_model_and_n(client: openai.AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(model="other-model", messages=USER, n=3)
    assert reply.model == "other-model"
    assert [c.index for c in reply.choices] == [0, 1, 2]


async def test_chat_max_tokens_and_stop(client: openai.AsyncOpenAI) -> None:
    cut = await client.chat.completions.create(model="fake-model", messages=USER, max_tokens=2)
    assert cut.choices[0].message.content == "Echo: Hello"
    assert cut.choices[0].finish_reason == "length"
    stopped = await client.chat.completions.create(model="fake-model", messages=USER, stop=["there"])
    assert stopped.choices[0].message.content == "Echo: Hello "
    assert stopped.choices[0].finish_reason == "stop"


async def test_chat_stream_joins_to_non_stream(client: openai.AsyncOpenAI) -> None:
    whole = await client.chat.completions.create(model="fake-model", messages=USER)
    stream = await client.chat.completions.create(
        model="fake-model", messages=USER, stream=True, stream_options={"include_usage": True})
    chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage
    assert len({c.id for c in chunks}) == 1


async def test_chat_stream_chunk_count(fake: FakeUpstream, client: openai.AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(model="fake-model", messages=USER, stream=True,
                                                  extra_headers={"x-fake-chunks": "64"})
    chunks = [chunk async for chunk in stream]
    assert len(chunks) == 1 + 64 + 1
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Echo: Hello there fake"


async def test_tool_call(client: openai.AsyncOpenAI) -> None:
    messages = [{"role": "user", "content": "please call tool"}]
    reply = await client.chat.completions.create(model="fake-model", messages=messages, tools=[WEATHER_TOOL])
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "days": 1}


async def test_tool_call_stream_fragments(client: openai.AsyncOpenAI) -> None:
    messages = [{"role": "user", "content": "please call tool"}]
    stream = await client.chat.completions.create(model="fake-model", messages=messages,
                                                  tools=[WEATHER_TOOL], stream=True)
    fragments = [tc for chunk in [c async for c in stream] if chunk.choices
                 for tc in chunk.choices[0].delta.tool_calls or []]
    assert len(fragments) > 2
    assert fragments[0].id and fragments[0].function.name == "get_weather"
    assert all(f.index == 0 for f in fragments) and all(f.id is None for f in fragments[1:])
    arguments = "".join(f.function.arguments or "" for f in fragments)
    assert json.loads(arguments) == {"city": "Paris", "days": 1}


async def test_tool_result_and_reasoning(client: openai.AsyncOpenAI) -> None:
    messages = [{"role": "user", "content": "call tool"},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "sunny"}]
    reply = await client.chat.completions.create(model="fake-model", messages=messages, tools=[WEATHER_TOOL])
    assert reply.choices[0].message.content == "Tool said: sunny"
    think = await client.chat.completions.create(model="fake-model", messages=USER, reasoning_effort="low")
    assert think.choices[0].message.model_extra["reasoning_content"].startswith("Thinking")
    stream = await client.chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": "think hard"}], stream=True)
    deltas = [c.choices[0].delta for c in [c async for c in stream]]
    reasoning = "".join((d.model_extra or {}).get("reasoning_content") or "" for d in deltas)
    assert reasoning == "Thinking about: think hard"
    assert "".join(d.content or "" for d in deltas) == "Echo: think hard"


async def test_unknown_model_is_404(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await client.chat.completions.create(model="nope", messages=USER)
    assert caught.value.body["code"] == "model_not_found"


async def test_completions(client: openai.AsyncOpenAI) -> None:
    reply = await client.completions.create(model="fake-model", prompt="one two three", max_tokens=3)
    assert reply.object == "text_completion" and reply.choices[0].text == "Echo: one two"
    assert reply.choices[0].finish_reason == "length"
    many = await client.completions.create(model="fake-model", prompt=["a", "b"], n=2)
    assert [c.text for c in many.choices] == ["Echo: a", "Echo: a", "Echo: b", "Echo: b"]
    stream = await client.completions.create(model="fake-model", prompt="one two three", stream=True,
                                             stream_options={"include_usage": True})
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "Echo: one two three"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4


async def test_models(client: openai.AsyncOpenAI) -> None:
    models = [m.id async for m in client.models.list()]
    assert models == ["fake-model", "other-model"]
    assert (await client.models.retrieve("other-model")).id == "other-model"
    with pytest.raises(openai.NotFoundError):
        await client.models.retrieve("missing")
