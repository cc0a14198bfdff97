"""Issue 14's protocol items through a live gateway, on the fake upstream standing in for vLLM or a plain
OpenAI-compatible server: context overflow in each API's words, context length in /v1/models, stop sequences
a backend ignores, structured outputs. Driven with the official SDKs."""

from __future__ import annotations

import re

import anthropic
import httpx
import openai
import pytest

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway, last_request

LONG = "word " * 5000  # the fake counts words; its context is 4,096
IGNORES_STOP = {"x-fake-stop": "ignore"}
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
          "additionalProperties": False}


@pytest.fixture(scope="module")
def claude(gateway: LiveGateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=gateway.admin_key, max_retries=0)


@pytest.fixture(scope="module")
def oai(gateway: LiveGateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=gateway.admin_key, max_retries=0)


def _ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_overflow_is_anthropics_prompt_is_too_long(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as raised:
        claude.messages.create(model="fake-model", max_tokens=16, messages=_ask(LONG))
    assert raised.value.status_code == 400
    error = raised.value.body["error"]  # type: ignore[index]
    assert error["type"] == "invalid_request_error"
    assert re.fullmatch(r"prompt is too long: 500\d tokens > 4096 maximum", error["message"]), error


def test_overflow_of_a_stream_is_the_same_400(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as raised, claude.messages.stream(
            model="fake-model", max_tokens=16, messages=_ask(LONG)) as stream:
        stream.get_final_message()
    assert "prompt is too long" in raised.value.body["error"]["message"]  # type: ignore[index]


def test_overflow_on_a_native_messages_backend_is_reworded(gateway: LiveGateway, fake: FakeUpstream,
                                                           claude: anthropic.Anthropic) -> None:
    gateway.deploy("native-fake", [fake.url], upstream_model="fake-model", speaks_anthropic=True)
    try:
        with pytest.raises(anthropic.BadRequestError) as raised:
            claude.messages.create(model="native-fake", max_tokens=16, messages=_ask(LONG))
        assert re.fullmatch(r"prompt is too long: 500\d tokens > 4096 maximum",
                            raised.value.body["error"]["message"])  # type: ignore[index]
        assert last_request(fake, "/v1/messages").json()["model"] == "fake-model"  # relayed, not translated
        with pytest.raises(anthropic.BadRequestError) as other:  # any other 400 passes as the backend sent it
            claude.messages.create(model="native-fake", max_tokens=16, messages=_ask("hi"),
                                   extra_headers={"x-fake-status": "400"})
        assert other.value.body["error"]["message"] == "fake error with status 400"  # type: ignore[index]
    finally:
        gateway.api("DELETE", "/api/deployments/native-fake")


def test_overflow_on_responses_is_context_length_exceeded(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        oai.responses.create(model="fake-model", input=LONG, store=False)
    assert raised.value.code == "context_length_exceeded" and raised.value.param == "input"


def test_overflow_of_a_responses_stream_is_response_failed(oai: openai.OpenAI) -> None:
    events = list(oai.responses.create(model="fake-model", input=LONG, store=False, stream=True))
    assert [e.type for e in events] == ["response.created", "response.in_progress", "error", "response.failed"]
    failed = events[-1].response  # type: ignore[union-attr]
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.code == "context_length_exceeded"
    assert "maximum context length is 4096 tokens" in failed.error.message


def test_models_carry_the_instances_context_length(gateway: LiveGateway, oai: openai.OpenAI) -> None:
    cards = {m.id: m.model_dump() for m in oai.models.list()}
    assert cards["fake-model"]["max_model_len"] == cards["fake-model"]["context_length"] == 4096
    one = httpx.get(gateway.url + "/v1/models/fake-model", headers={"authorization": f"Bearer {gateway.admin_key}"})
    assert one.json()["max_model_len"] == 4096


def test_a_model_its_instance_does_not_list_has_no_context(gateway: LiveGateway) -> None:
    two = FakeUpstream(models=("one", "two"))
    two.start_in_thread()
    try:
        gateway.deploy("unlisted", [two.url], upstream_model="three")  # neither of the two it lists
        gateway.deploy("listed", [two.url], upstream_model="two")
        cards = {m["id"]: m for m in gateway.api("GET", "/v1/models").json()["data"]}
        assert "max_model_len" not in cards["unlisted"] and cards["unlisted"]["object"] == "model"
        assert cards["listed"]["max_model_len"] == 4096
    finally:
        gateway.api("DELETE", "/api/deployments/unlisted")
        gateway.api("DELETE", "/api/deployments/listed")
        two.stop_thread()


def test_stop_sequence_a_backend_ignored_is_cut_and_reported(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(model="fake-model", max_tokens=64, stop_sequences=["STOP", "x", "y", "z", "w"],
                                     messages=_ask("alpha STOP beta"), extra_headers=IGNORES_STOP)
    assert message.content[0].text == "Echo: alpha "  # type: ignore[union-attr]
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "STOP")


def test_stop_sequence_a_backend_ignored_in_a_stream(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(model="fake-model", max_tokens=64, stop_sequences=["STOP"],
                                messages=_ask("alpha beta gamma STOP delta epsilon"),
                                extra_headers=IGNORES_STOP) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Echo: alpha beta gamma "
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "STOP")


def test_output_config_format_reaches_the_backend(claude: anthropic.Anthropic, fake: FakeUpstream) -> None:
    claude.messages.create(model="fake-model", max_tokens=16, messages=_ask("Where?"), extra_body={
        "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}, "effort": "medium"}})
    sent = last_request(fake, "/v1/chat/completions").json()
    assert sent["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "output", "schema": SCHEMA, "strict": True}}
