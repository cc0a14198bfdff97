"""Tools, prefill and stop strings on a live llama.cpp worker (SmolLM2-135M-Instruct), openai SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

from tests.worker.live import LiveWorker, require_ready

MODEL = "smollm2-135m-instruct"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
            "required": ["city", "unit"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "The local time in a time zone",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]},
    },
}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


def check_weather_args(arguments: str) -> None:
    """The arguments are a JSON object valid for WEATHER's parameters (checked by hand: no jsonschema)."""
    args = json.loads(arguments)
    assert set(args) == {"city", "unit"}
    assert isinstance(args["city"], str) and args["unit"] in ("celsius", "fahrenheit")


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    require_ready(MODEL)
    with LiveWorker("llama.cpp", MODEL, Path(tmp_path_factory.mktemp("llm-tools"))) as live:
        yield live


@pytest.fixture(scope="module")
def client(worker: LiveWorker) -> openai.OpenAI:
    return openai.OpenAI(base_url=worker.url + "/v1", api_key=worker.secret, max_retries=0)


def _create(client: openai.OpenAI, **kwargs: Any) -> Any:
    return client.chat.completions.create(model=MODEL, **{"temperature": 0, "max_tokens": 48, **kwargs})


def test_named_tool_choice_returns_a_schema_valid_call(client: openai.OpenAI) -> None:
    choice = {"type": "function", "function": {"name": "get_weather"}}
    reply = _create(client, messages=ASK, tools=[TIME, WEATHER], tool_choice=choice)
    first = reply.choices[0]
    assert first.finish_reason == "tool_calls" and first.message.content is None
    [call] = first.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather" and call.id.startswith("call_")
    check_weather_args(call.function.arguments)


def test_required_tool_choice_streams_argument_deltas(client: openai.OpenAI) -> None:
    whole = _create(client, messages=ASK, tools=[WEATHER], tool_choice="required")
    chunks = list(_create(client, messages=ASK, tools=[WEATHER], tool_choice="required", stream=True,
                          stream_options={"include_usage": True}))  # fmt: skip
    pieces = [c.choices[0].delta.tool_calls[0] for c in chunks if c.choices and c.choices[0].delta.tool_calls]
    assert len(pieces) > 2
    head, rest = pieces[0], pieces[1:]
    assert head.id and head.type == "function" and head.function.name == "get_weather"
    assert all(p.id is None and p.function.name is None and p.index == 0 for p in rest)
    arguments = head.function.arguments + "".join(p.function.arguments for p in rest)
    check_weather_args(arguments)
    # the same call; the spacing may differ (the prompt's KV is reused, so its last logits are recomputed)
    assert json.loads(arguments) == json.loads(whole.choices[0].message.tool_calls[0].function.arguments)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["tool_calls"]
    usage = chunks[-1].usage
    assert usage.prompt_tokens == whole.usage.prompt_tokens and usage.completion_tokens >= len(rest)


def test_tool_round_trip_history_is_accepted_and_rendered(client: openai.OpenAI) -> None:
    call: dict[str, Any] = {"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris", "unit": "celsius"}'}}  # fmt: skip
    history = [*ASK, {"role": "assistant", "content": None, "tool_calls": [call]},
               {"role": "tool", "tool_call_id": "call_1", "content": "18 degrees and sunny"}]  # fmt: skip
    with_result = _create(client, messages=history, tools=[WEATHER], max_tokens=24)
    without = _create(client, messages=ASK, tools=[WEATHER], max_tokens=1)
    assert with_result.choices[0].finish_reason in ("stop", "length", "tool_calls")
    # the call and its result are in the prompt: more tokens than the question alone, by at least their text
    extra = with_result.usage.prompt_tokens - without.usage.prompt_tokens
    assert extra > len("18 degrees and sunny".split()) + len(call["function"]["arguments"]) // 4


def test_tool_choice_none_never_calls(client: openai.OpenAI) -> None:
    reply = _create(client, messages=ASK, tools=[WEATHER], tool_choice="none", max_tokens=16)
    assert reply.choices[0].finish_reason != "tool_calls" and not reply.choices[0].message.tool_calls


async def test_prefill_continues_the_final_assistant_message(worker: LiveWorker, client: openai.OpenAI) -> None:
    question = [{"role": "user", "content": "What is the capital of France?"}]
    prefill = [*question, {"role": "assistant", "content": "The capital of France is"}]
    async with aiohttp.ClientSession(headers=worker.headers) as http:
        async with http.post(worker.url + "/v1/tokenize", json={"messages": question}) as r:
            opened = (await r.json())["tokens"]  # ends with the opened assistant turn
        async with http.post(worker.url + "/v1/tokenize", json={"messages": prefill}) as r:
            continued = (await r.json())["tokens"]
    reply = _create(client, messages=prefill, max_tokens=4)
    assert reply.usage.prompt_tokens == len(continued)
    assert continued[: len(opened)] == opened and len(continued) > len(opened)  # no closed turn in between
    assert "Paris" in (reply.choices[0].message.content or "")
    restarted = _create(client, messages=prefill, max_tokens=4, extra_body={"add_generation_prompt": True})
    assert restarted.usage.prompt_tokens > reply.usage.prompt_tokens  # closed turn + a new one


def test_six_stop_strings_report_the_one_that_matched(client: openai.OpenAI) -> None:
    messages = [{"role": "system", "content": "Answer in one short sentence."},
                {"role": "user", "content": "What is the capital of France?"}]  # fmt: skip
    text = _create(client, messages=messages).choices[0].message.content or ""
    assert " is " in text
    stops = ["@@", "zqx", "<END>", "###", "never-said", " is "]
    cut = _create(client, messages=messages, stop=stops)
    assert cut.choices[0].message.content == text.split(" is ")[0]
    assert cut.choices[0].finish_reason == "stop" and cut.choices[0].model_extra["stop_reason"] == " is "
    chunks = list(_create(client, messages=messages, stop=stops, stream=True))
    last = next(c.choices[0] for c in chunks if c.choices and c.choices[0].finish_reason)
    assert last.model_extra["stop_reason"] == " is "
    plain = _create(client, messages=messages)
    assert plain.choices[0].model_extra["stop_reason"] is None


def test_bad_tool_requests_are_400(client: openai.OpenAI) -> None:
    unknown = {"type": "function", "function": {"name": "nope"}}
    for kwargs in (
        {"tools": [WEATHER], "tool_choice": unknown},
        {"tool_choice": "required"},
        {"tools": [WEATHER] * 2},
        {"tools": [{"type": "function", "function": {"name": f"t{i}"}} for i in range(200)]},
        {"stop": [f"s{i}" for i in range(65)]},
        {"tools": [{"type": "function", "function": {"name": "deep", "parameters": _nested(40)}}]},
    ):
        with pytest.raises(openai.BadRequestError):
            _create(client, messages=ASK, **kwargs)


def _nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


def test_auto_turns_a_reply_that_is_a_call_into_tool_calls(client: openai.OpenAI) -> None:
    # SmolLM2 answers in prose when free to; a response_format holding the call format makes its reply a
    # call in the format the prompt describes, which "auto" must hand back as tool_calls
    schema = {"type": "object", "properties": {"name": {"const": "get_weather"},
                                               "arguments": WEATHER["function"]["parameters"]},  # type: ignore[index]
              "required": ["name", "arguments"]}  # fmt: skip
    fmt = {"type": "json_schema", "json_schema": {"name": "call", "schema": schema}}
    reply = _create(client, messages=ASK, tools=[WEATHER], tool_choice="auto", response_format=fmt)
    assert reply.choices[0].finish_reason == "tool_calls" and reply.choices[0].message.content is None
    check_weather_args(reply.choices[0].message.tool_calls[0].function.arguments)
    prose = _create(client, messages=ASK, tools=[WEATHER], tool_choice="auto", max_tokens=12)
    assert prose.choices[0].finish_reason != "tool_calls" and prose.choices[0].message.content


async def test_tokenize_counts_the_tools_as_the_prompt_holds_them(worker: LiveWorker, client: openai.OpenAI) -> None:
    async with aiohttp.ClientSession(headers=worker.headers) as http:
        async def count(body: dict[str, Any]) -> int:
            async with http.post(worker.url + "/v1/tokenize", json=body) as reply:
                assert reply.status == 200, await reply.text()
                return int((await reply.json())["count"])

        bare = await count({"model": MODEL, "messages": ASK})
        with_tools = await count({"model": MODEL, "messages": ASK, "tools": [WEATHER, TIME]})
    reply = _create(client, messages=ASK, tools=[WEATHER, TIME], max_tokens=1)
    assert with_tools > bare + 20  # two tool schemas rendered into the system turn
    assert with_tools == reply.usage.prompt_tokens
