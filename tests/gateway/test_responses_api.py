"""`/v1/responses` with the official `openai` SDK, translated to chat completions on the fake upstream (and
once on the built-in model): create, stream, a function tool round trip, `text.format`, stored responses."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import orjson
import pytest
import sqlalchemy as sa

from modelport.config import sqlite_url
from modelport.store import Store
from modelport.store.schema import responses
from modelport.testing import FakeUpstream
from tests.harness import LiveGateway, last_request

WEATHER = {"type": "function", "name": "get_weather", "description": "Current weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


@pytest.fixture(scope="module")
def client(gateway: LiveGateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=gateway.create_key("responses-sdk"), max_retries=0)


@pytest.fixture(scope="module")
def other(gateway: LiveGateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=gateway.create_key("responses-other"), max_retries=0)


def test_create_with_a_string_input(client: openai.OpenAI, fake: FakeUpstream) -> None:
    response = client.responses.create(model="fake-model", input="Hello there", instructions="Be brief.",
                                       max_output_tokens=50, temperature=0.5, metadata={"run": "1"})
    assert response.id.startswith("resp_") and response.object == "response"
    assert response.status == "completed" and response.model == "fake-model"
    assert response.output_text == "Echo: Hello there"
    assert response.output[0].type == "message" and response.output[0].role == "assistant"
    assert response.metadata == {"run": "1"} and response.instructions == "Be brief."
    usage = response.usage
    assert usage is not None and usage.input_tokens > 0 and usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_tokens_details.cached_tokens == 0 and usage.output_tokens_details.reasoning_tokens == 0
    sent = last_request(fake, "/v1/chat/completions").json()
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}]
    assert sent["max_tokens"] == 50 and sent["temperature"] == 0.5 and "metadata" not in sent


def test_create_with_input_items_and_unknown_fields(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="fake-model",
        input=[{"role": "developer", "content": "Say it back."},
               {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "first"},
                                                                {"type": "input_text", "text": "second"}]}],
        extra_body={"some_future_field": {"x": 1}, "truncation": "auto"},
    )
    assert response.output_text == "Echo: first\nsecond"


def test_stream_events_accumulate_in_the_sdk(client: openai.OpenAI) -> None:
    with client.responses.stream(model="fake-model", input="stream me please") as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    for kind in ("response.output_item.added", "response.content_part.added", "response.output_text.done",
                 "response.content_part.done", "response.output_item.done"):
        assert kind in kinds
    assert [event.sequence_number for event in events] == list(range(len(events)))
    text = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert text == final.output_text == "Echo: stream me please"
    assert final.usage is not None and final.usage.output_tokens > 0 and final.status == "completed"


def test_stream_true_gives_raw_events(client: openai.OpenAI, fake: FakeUpstream) -> None:
    events = list(client.responses.create(model="fake-model", input="raw", stream=True))
    assert events[-1].type == "response.completed"
    assert last_request(fake, "/v1/chat/completions").json()["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("stream", [False, True])
def test_function_tool_round_trip(client: openai.OpenAI, fake: FakeUpstream, stream: bool) -> None:
    ask = {"model": "fake-model", "tools": [WEATHER], "tool_choice": "auto", "parallel_tool_calls": False}
    first_input = [{"role": "user", "content": "Please call tool for Paris"}]
    if stream:
        with client.responses.stream(input=first_input, **ask) as events:  # type: ignore[call-overload]
            arguments = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
            first = events.get_final_response()
    else:
        first = client.responses.create(input=first_input, **ask)  # type: ignore[call-overload]
    (call,) = [item for item in first.output if item.type == "function_call"]
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    if stream:
        assert arguments == call.arguments
    sent = last_request(fake, "/v1/chat/completions").json()
    assert sent["tools"][0]["function"]["name"] == "get_weather" and sent["parallel_tool_calls"] is False
    second = client.responses.create(
        input=[*first_input, {"type": "function_call", "call_id": call.call_id, "name": call.name,
                              "arguments": call.arguments},
               {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21 C"}],
        store=False, **ask)  # type: ignore[call-overload]
    assert second.output_text == "Tool said: sunny, 21 C"
    messages = last_request(fake, "/v1/chat/completions").json()["messages"]
    assert messages[1]["tool_calls"][0]["id"] == call.call_id and messages[2]["tool_call_id"] == call.call_id


def test_text_format_json_schema_and_reasoning_reach_the_backend(client: openai.OpenAI, fake: FakeUpstream) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    response = client.responses.create(  # type: ignore[call-overload]
        model="fake-model", input="json please", reasoning={"effort": "low"},
        text={"format": {"type": "json_schema", "name": "reply", "schema": schema, "strict": True}})
    sent = last_request(fake, "/v1/chat/completions").json()
    assert sent["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "reply", "schema": schema, "strict": True}}
    assert sent["reasoning_effort"] == "low"
    kinds = [item.type for item in response.output]
    assert kinds == ["reasoning", "message"]  # the fake reasons when asked for an effort
    assert response.text is not None and response.text.format.type == "json_schema"


def test_previous_response_id_continues_the_conversation(client: openai.OpenAI, fake: FakeUpstream) -> None:
    first = client.responses.create(model="fake-model", input="remember the word kiwi", instructions="old")
    second = client.responses.create(model="fake-model", input="what was it?", previous_response_id=first.id)
    assert second.previous_response_id == first.id and second.output_text == "Echo: what was it?"
    messages = last_request(fake, "/v1/chat/completions").json()["messages"]
    assert messages == [{"role": "user", "content": "remember the word kiwi"},
                        {"role": "assistant", "content": "Echo: remember the word kiwi"},
                        {"role": "user", "content": "what was it?"}]  # instructions are not carried over


def test_retrieve_and_delete_only_for_the_key_that_made_it(client: openai.OpenAI, other: openai.OpenAI) -> None:
    made = client.responses.create(model="fake-model", input="keep me")
    assert client.responses.retrieve(made.id).output_text == "Echo: keep me"
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(made.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(made.id)
    with pytest.raises(openai.BadRequestError) as caught:
        other.responses.create(model="fake-model", input="next", previous_response_id=made.id)
    assert caught.value.code == "previous_response_not_found"
    client.responses.delete(made.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(made.id)


def test_store_false_is_not_kept(client: openai.OpenAI) -> None:
    made = client.responses.create(model="fake-model", input="forget me", store=False)
    assert (made.model_extra or {}).get("store") is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(made.id)


def test_streamed_response_is_stored(client: openai.OpenAI) -> None:
    with client.responses.stream(model="fake-model", input="stored stream") as stream:
        final = stream.get_final_response()
    assert client.responses.retrieve(final.id).output_text == "Echo: stored stream"


def post(gateway: LiveGateway, key: str, body: object, **headers: str) -> httpx.Response:
    return httpx.post(gateway.v1 + "/responses", json=body, timeout=30,
                      headers={"authorization": f"Bearer {key}", **headers})


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "fake-model", "input": [{"type": "web_search_call", "id": "x"}]}, "input.0.type"),
    ({"model": "fake-model", "input": "x", "tools": [{"type": "telepathy"}]}, "tools.0.type"),
    ({"model": "fake-model", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]},
     "input.0.content.0"),
    ({"input": "no model"}, "model"),
    ({"model": "fake-model", "input": "x", "max_output_tokens": 0}, "max_output_tokens"),
])
def test_invalid_requests_are_400_in_openais_shape(gateway: LiveGateway, body: object, param: str) -> None:
    response = post(gateway, gateway.admin_key, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param


@pytest.mark.parametrize("fault", ["html", "invalid-json", "wrong-shape", "missing-fields"])
def test_a_broken_answer_is_a_502(client: openai.OpenAI, fault: str) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.responses.create(model="fake-model", input="x", extra_headers={"x-fake-fault": fault})
    assert caught.value.status_code == 502


@pytest.mark.parametrize("fault", ["invalid-json", "wrong-shape", "cut"])
def test_a_stream_broken_midway_ends_with_response_failed(client: openai.OpenAI, fault: str) -> None:
    headers = {"x-fake-fault": fault, "x-fake-chunk-delay-ms": "100"}  # the first events go out first
    events = list(client.responses.create(model="fake-model", input="one two three", stream=True,
                                          extra_headers=headers))
    assert events[0].type == "response.created" and events[-1].type == "response.failed"
    assert events[-1].response.status == "failed" and events[-1].response.error is not None
    assert all(event.type != "response.completed" for event in events)


def test_a_stream_broken_before_any_event_is_a_502(gateway: LiveGateway) -> None:
    headers = {"x-fake-fault": "wrong-shape", "x-fake-fault-after": "0"}
    response = post(gateway, gateway.admin_key, {"model": "fake-model", "input": "x", "stream": True}, **headers)
    assert response.status_code == 502 and response.json()["error"]["code"] == "bad_upstream_response"


def test_on_the_builtin_chat_model(builtin_gateway: LiveGateway) -> None:
    client = openai.OpenAI(base_url=builtin_gateway.v1, api_key=builtin_gateway.admin_key, max_retries=0)
    ask = {"model": "smollm2-135m-instruct", "input": "What is the capital of France?", "max_output_tokens": 8,
           "temperature": 0}
    whole = client.responses.create(**ask)  # type: ignore[call-overload]
    assert whole.status in {"completed", "incomplete"} and whole.output_text
    assert whole.usage is not None and whole.usage.input_tokens > 0 and 0 < whole.usage.output_tokens <= 8
    events = list(client.responses.create(**ask, stream=True))  # type: ignore[call-overload]
    assert events[0].type == "response.created" and events[-1].type in {"response.completed", "response.incomplete"}
    streamed = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert streamed == events[-1].response.output_text
    assert client.responses.retrieve(whole.id).id == whole.id


def test_input_items_lists_what_the_response_followed(client: openai.OpenAI, other: openai.OpenAI) -> None:
    first = client.responses.create(model="fake-model", input=[{"role": "user", "content": "one"}])
    second = client.responses.create(model="fake-model", previous_response_id=first.id,
                                     input=[{"role": "user", "content": [{"type": "input_text", "text": "two"}]}])
    items = list(client.responses.input_items.list(second.id, order="asc"))
    assert [item.type for item in items] == ["message", "message", "message"]
    texts = [item.content[0].text for item in items]  # type: ignore[union-attr,index]
    assert texts == ["one", "Echo: one", "two"]
    assert items[1].id == first.output[0].id and all(item.id for item in items)
    page = client.responses.input_items.list(second.id, limit=2)  # newest first
    assert [item.content[0].text for item in page.data] == ["two", "Echo: one"]  # type: ignore[union-attr,index]
    assert page.has_more is True
    with pytest.raises(openai.NotFoundError):
        other.responses.input_items.list(second.id)


def test_responses_ttl_days_sets_when_a_stored_response_expires(tmp_path: Path, fake: FakeUpstream) -> None:
    with LiveGateway(tmp_path / "ttl", "--responses-ttl-days", "0.5") as live:
        live.deploy("fake-model", [fake.url])
        client = openai.OpenAI(base_url=live.v1, api_key=live.admin_key, max_retries=0)
        made = client.responses.create(model="fake-model", input="short-lived")
        store = Store.open(sqlite_url(live.data_dir))
        try:
            with store.engine.connect() as connection:
                row = connection.execute(sa.select(responses).where(responses.c.id == made.id)).one()
        finally:
            store.close()
    lifetime = row.expires_at - row.created_at
    assert abs(lifetime.total_seconds() - 43200) < 1
    assert orjson.loads(row.response)["id"] == made.id


def test_item_references_stand_for_stored_output_items(client: openai.OpenAI, other: openai.OpenAI,
                                                       fake: FakeUpstream) -> None:
    asked = [{"role": "user", "content": "Please call tool for Paris"}]
    first = client.responses.create(model="fake-model", input=asked, tools=[WEATHER])  # type: ignore[arg-type,list-item]
    (call,) = [item for item in first.output if item.type == "function_call"]
    assert call.id is not None and first.id.removeprefix("resp_") in call.id
    follow_up = [*asked, {"type": "item_reference", "id": call.id},
                 {"type": "function_call_output", "call_id": call.call_id, "output": "cloudy"}]
    second = client.responses.create(model="fake-model", input=follow_up,  # type: ignore[arg-type]
                                     tools=[WEATHER])  # type: ignore[list-item]
    assert second.output_text == "Tool said: cloudy"
    messages = last_request(fake, "/v1/chat/completions").json()["messages"]
    assert messages[1]["tool_calls"] == [{"id": call.call_id, "type": "function",
                                          "function": {"name": "get_weather", "arguments": call.arguments}}]
    with pytest.raises(openai.BadRequestError) as caught:
        other.responses.create(model="fake-model", input=follow_up,  # type: ignore[arg-type]
                               tools=[WEATHER])  # type: ignore[list-item]
    assert caught.value.body["param"] == "input.1.id"  # type: ignore[index]


def test_a_streamed_reasoning_item_accumulates_in_the_sdk(client: openai.OpenAI) -> None:
    with client.responses.stream(model="fake-model", input="think about it", reasoning={"effort": "high"}) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert "response.reasoning_text.delta" in kinds and "response.reasoning_text.done" in kinds
    assert [item.type for item in final.output] == ["reasoning", "message"]
    reasoning = final.output[0]
    assert reasoning.type == "reasoning" and reasoning.content is not None
    assert reasoning.content[0].text == "Thinking about: think about it"
    assert final.output_text == "Echo: think about it"
