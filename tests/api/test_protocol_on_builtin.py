"""Issue 14's protocol items on the built-in engines behind a live gateway: the context overflow each API's
clients act on, the context length in /v1/models, the real input count in `message_start`, structured output
through `output_config.format`, and embeddings sent as token ids (LangChain's default)."""

from __future__ import annotations

import json
import re

import anthropic
import httpx
import numpy as np
import openai
import pytest

from modelport.errors import BadRequest
from modelport.worker.token_ids import Cl100kDecoder
from tests.harness import LiveGateway

CHAT = "smollm2-135m-instruct"
EMBED = "all-minilm-l6-v2"
TOO_LONG = "hello " * 9000  # more tokens than smollm2's 8,192-token context
HELLO_WORLD_IDS = [15339, 1917]  # "hello world" in cl100k_base, as tiktoken (and so LangChain) encodes it


@pytest.fixture(scope="module")
def claude(builtin_gateway: LiveGateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=builtin_gateway.url, api_key=builtin_gateway.admin_key, max_retries=0)


@pytest.fixture(scope="module")
def oai(builtin_gateway: LiveGateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=builtin_gateway.url + "/v1", api_key=builtin_gateway.admin_key, max_retries=0)


def test_chat_overflow_is_openais_context_length_exceeded(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        oai.chat.completions.create(model=CHAT, max_tokens=8, messages=[{"role": "user", "content": TOO_LONG}])
    assert raised.value.code == "context_length_exceeded" and raised.value.param == "messages"
    assert "maximum context length is 8192 tokens" in raised.value.message


def test_messages_overflow_is_prompt_is_too_long(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as raised:
        claude.messages.create(model=CHAT, max_tokens=8, messages=[{"role": "user", "content": TOO_LONG}])
    message = raised.value.body["error"]["message"]  # type: ignore[index]
    found = re.fullmatch(r"prompt is too long: (\d+) tokens > 8192 maximum", message)
    assert found is not None and int(found.group(1)) > 9000, message


def test_models_carry_the_context_length(oai: openai.OpenAI) -> None:
    cards = {m.id: m.model_dump() for m in oai.models.list()}
    assert cards[CHAT]["max_model_len"] == cards[CHAT]["context_length"] == 8192
    assert cards[EMBED]["max_model_len"] == 256


def _stream_events(gateway: LiveGateway, body: dict[str, object]) -> list[dict[str, object]]:
    headers = {"x-api-key": gateway.admin_key, "anthropic-version": "2023-06-01"}
    with httpx.stream("POST", gateway.url + "/v1/messages", json=body, headers=headers, timeout=60) as response:
        assert response.status_code == 200
        return [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]


def test_message_start_carries_the_real_input_count(builtin_gateway: LiveGateway, claude: anthropic.Anthropic) -> None:
    ask = {"model": CHAT, "max_tokens": 8, "system": "Be brief.",
           "messages": [{"role": "user", "content": "Name a colour."}]}
    events = _stream_events(builtin_gateway, {**ask, "stream": True})
    start = events[0]["message"]["usage"]["input_tokens"]  # type: ignore[index]
    counted = claude.messages.count_tokens(model=CHAT, system="Be brief.", messages=ask["messages"])  # type: ignore[arg-type]
    final = next(e for e in events if e["type"] == "message_delta")["usage"]["input_tokens"]  # type: ignore[index]
    assert start == counted.input_tokens == final > 0


def test_output_config_format_gives_json_of_the_schema(claude: anthropic.Anthropic) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20}}, "required": ["city"],
              "additionalProperties": False}
    message = claude.messages.create(
        model=CHAT, max_tokens=24, messages=[{"role": "user", "content": "Which city is the capital of France?"}],
        extra_body={"output_config": {"format": {"type": "json_schema", "schema": schema}}, "temperature": 0})
    answer = json.loads(message.content[0].text)  # type: ignore[union-attr]
    assert list(answer) == ["city"] and isinstance(answer["city"], str)


def _has_cl100k() -> bool:
    try:
        return Cl100kDecoder().decode(HELLO_WORLD_IDS) == "hello world"
    except BadRequest:
        return False


def test_token_id_input_is_read_as_cl100k_base(oai: openai.OpenAI) -> None:
    if not _has_cl100k():  # the table is not on this machine: a clear 400, never vectors of other words
        with pytest.raises(openai.BadRequestError) as raised:
            oai.embeddings.create(model=EMBED, input=[HELLO_WORLD_IDS])
        assert raised.value.code == "token_ids_unsupported" and "cl100k_base" in raised.value.message
        return
    text = oai.embeddings.create(model=EMBED, input=["hello world", "goodbye"]).data
    ids = oai.embeddings.create(model=EMBED, input=[HELLO_WORLD_IDS, [19045, 29474]]).data  # "goodbye"
    one = oai.embeddings.create(model=EMBED, input=HELLO_WORLD_IDS).data
    assert np.allclose(ids[0].embedding, text[0].embedding, atol=1e-6)
    assert np.allclose(one[0].embedding, text[0].embedding, atol=1e-6)
    assert len(ids) == 2 and len(ids[1].embedding) == 384


def test_token_ids_of_the_wrong_shape_are_a_400(oai: openai.OpenAI) -> None:
    for bad in ([[15339], []], [[15339], "text"], [1.5, 2]):
        with pytest.raises(openai.BadRequestError) as raised:
            oai.embeddings.create(model=EMBED, input=bad)  # type: ignore[arg-type]
        assert raised.value.param == "input"
