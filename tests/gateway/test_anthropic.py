"""`/v1/messages` with the official `anthropic` SDK: translated to chat completions, or relayed natively."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway, last_request

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture(scope="module")
def on_fake(gateway: LiveGateway, fake: FakeUpstream) -> anthropic.Anthropic:
    gateway.deploy("native-claude", [fake.url], upstream_model="fake-model", speaks_anthropic=True)
    return anthropic.Anthropic(base_url=gateway.url, api_key=gateway.create_key("anthropic-sdk"), max_retries=0)


@pytest.fixture(scope="module")
def on_builtin(builtin_gateway: LiveGateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=builtin_gateway.url, api_key=builtin_gateway.admin_key, max_retries=0)


def ask_capital(client: anthropic.Anthropic) -> dict:  # type: ignore[type-arg]
    return {
        "model": "smollm2-135m-instruct",
        "max_tokens": 30,
        "extra_body": {"temperature": 0},  # this SDK release has no `temperature` argument; the API has
        "system": [{"type": "text", "text": "Answer in one short sentence.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
    }


def test_create_on_the_builtin_chat_model(on_builtin: anthropic.Anthropic) -> None:
    message = on_builtin.messages.create(**ask_capital(on_builtin))
    assert message.role == "assistant" and message.id.startswith("msg_")
    assert "Paris" in message.content[0].text  # type: ignore[union-attr]
    assert message.stop_reason in {"end_turn", "max_tokens"}
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


def test_stream_on_the_builtin_chat_model(on_builtin: anthropic.Anthropic) -> None:
    whole = on_builtin.messages.create(**ask_capital(on_builtin))
    with on_builtin.messages.stream(**ask_capital(on_builtin)) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == final.content[0].text == whole.content[0].text  # type: ignore[union-attr]
    assert final.stop_reason == whole.stop_reason
    assert final.usage.output_tokens == whole.usage.output_tokens


def test_count_tokens_uses_the_models_tokenizer(on_builtin: anthropic.Anthropic) -> None:
    request = ask_capital(on_builtin)
    counted = on_builtin.messages.count_tokens(model=request["model"], system=request["system"],
                                               messages=request["messages"])
    created = on_builtin.messages.create(**request)
    assert counted.input_tokens == created.usage.input_tokens


def test_native_upstream_is_relayed_not_translated(on_fake: anthropic.Anthropic, fake: FakeUpstream) -> None:
    message = on_fake.messages.create(model="native-claude", max_tokens=50,
                                      messages=[{"role": "user", "content": "hello"}])
    assert message.model == "native-claude"
    assert last_request(fake, "/v1/messages").json()["model"] == "fake-model"
    with on_fake.messages.stream(model="native-claude", max_tokens=50,
                                 messages=[{"role": "user", "content": "hello"}]) as stream:
        assert "".join(stream.text_stream) == message.content[0].text  # type: ignore[union-attr]


def test_tool_use_round_trip_through_translation(gateway: LiveGateway, fake: FakeUpstream) -> None:
    client = anthropic.Anthropic(base_url=gateway.url, api_key=gateway.admin_key, max_retries=0)
    first = [{"role": "user", "content": "Please call tool for the weather in Paris"}]
    with client.messages.stream(model="fake-model", max_tokens=100, tools=[WEATHER_TOOL], messages=first) as stream:
        asked = stream.get_final_message()
    assert asked.stop_reason == "tool_use"
    tool_use = next(block for block in asked.content if block.type == "tool_use")
    assert tool_use.name == "get_weather" and tool_use.input == {"city": "Paris"}
    assert last_request(fake, "/v1/chat/completions").json()["stream"] is True
    history = [*first, {"role": "assistant", "content": [block.model_dump() for block in asked.content]}, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "sunny, 21C"}]}]
    answer = client.messages.create(model="fake-model", max_tokens=100, tools=[WEATHER_TOOL], messages=history)
    assert answer.stop_reason == "end_turn"
    assert "sunny, 21C" in answer.content[0].text  # type: ignore[union-attr]


def test_claude_code_shaped_request(gateway: LiveGateway) -> None:
    tools = [{**WEATHER_TOOL, "name": f"tool_{i}"} for i in range(20)]
    body = {
        "model": "fake-model",
        "max_tokens": 512,
        "stream": True,
        "system": [
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Use tools when useful."},
        ],
        "tools": tools,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "List files", "cache_control": {"type": "ephemeral"}}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Sure."},
                                              {"type": "tool_use", "id": "toolu_1", "name": "tool_3", "input": {"city": "x"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                {"type": "text", "text": "a.txt b.txt"}]}]},
            {"role": "user", "content": "Thanks, now summarise."},
        ],
    }
    headers = {"x-api-key": gateway.admin_key, "anthropic-version": "2023-06-01",
               "anthropic-beta": "prompt-caching-2024-07-31"}
    response = httpx.post(gateway.url + "/v1/messages", json=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    events = [line.split(b": ", 1)[1] for line in response.content.split(b"\n") if line.startswith(b"event: ")]
    assert events[0] == b"message_start" and events[-1] == b"message_stop"
    assert b"content_block_delta" in events


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"model": "fake-model", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"model": "fake-model", "max_tokens": 5, "messages": [{"role": "tool", "content": "x"}]}, "role"),
        ({"model": "fake-model", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "bogus"}]}]},
         "type"),
        ({"model": "fake-model", "max_tokens": 5, "messages": "hi"}, "messages"),
        ({"max_tokens": 5, "messages": []}, "model"),
    ],
)
def test_malformed_requests_get_anthropic_400s(gateway: LiveGateway, body: dict, needle: str) -> None:  # type: ignore[type-arg]
    response = httpx.post(gateway.url + "/v1/messages", json=body, headers={"x-api-key": gateway.admin_key})
    assert response.status_code == 400, response.text
    data = response.json()
    assert data["type"] == "error" and data["error"]["type"] == "invalid_request_error"
    assert needle in data["error"]["message"]


def test_errors_are_anthropic_shaped(gateway: LiveGateway) -> None:
    body = {"model": "fake-model", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    unauthenticated = httpx.post(gateway.url + "/v1/messages", json=body)
    assert unauthenticated.status_code == 401
    assert unauthenticated.json() == {"type": "error", "error": {"type": "authentication_error",
                                                                 "message": unauthenticated.json()["error"]["message"]}}
    unknown = httpx.post(gateway.url + "/v1/messages", json={**body, "model": "nope"},
                         headers={"x-api-key": gateway.admin_key})
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "not_found_error"
    limited = httpx.post(gateway.url + "/v1/messages", json=body,
                         headers={"x-api-key": gateway.admin_key, "x-fake-status": "429"})
    assert limited.status_code == 429 and limited.json()["error"]["type"] == "rate_limit_error"
    bad_json = httpx.post(gateway.url + "/v1/messages", content=b"{", headers={
        "x-api-key": gateway.admin_key, "content-type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["type"] == "error"


def test_count_tokens_says_when_it_cannot(gateway: LiveGateway) -> None:
    body = {"model": "fake-model", "messages": [{"role": "user", "content": "x"}]}
    response = httpx.post(gateway.url + "/v1/messages/count_tokens", json=body,
                          headers={"x-api-key": gateway.admin_key})
    assert response.status_code == 400
    assert "tokenize" in response.json()["error"]["message"]


def test_pings_while_the_backend_is_silent_and_error_event_when_it_breaks(tmp_path, fake: FakeUpstream) -> None:  # type: ignore[no-untyped-def]
    with LiveGateway(tmp_path / "gw", "--ping-seconds", "0.2") as gateway:
        gateway.deploy("fake-model", [fake.url])
        body = {"model": "fake-model", "max_tokens": 50, "stream": True,
                "messages": [{"role": "user", "content": "one two three"}]}
        headers = {"x-api-key": gateway.admin_key}
        slow = httpx.post(gateway.url + "/v1/messages", json=body, timeout=30,
                          headers={**headers, "x-fake-chunk-delay-ms": "700"})
        events = [line[7:] for line in slow.text.split("\n") if line.startswith("event: ")]
        assert "ping" in events and events[-1] == "message_stop"
        broken = httpx.post(gateway.url + "/v1/messages", json=body, timeout=30,
                            headers={**headers, "x-fake-drop-after": "2"})
        events = [line[7:] for line in broken.text.split("\n") if line.startswith("event: ")]
        assert events[0] == "message_start" and events[-1] == "error"
