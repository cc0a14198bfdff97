"""The official `openai` Python SDK, unmodified, on the built-in models: chat (whole, streamed, a forced tool
call), embeddings, speech into transcription, the Responses API (create, stream), the model list's context,
and the context-overflow error clients act on."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.clients.conftest import CHAT, EMBED, SPEECH, STT, Served

HELLO = [{"role": "user", "content": "Say hello."}]
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


@pytest.fixture(scope="module")
def client(served: Served) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.v1, api_key=served.key, max_retries=0)


def gateway_embedding(served: Served, text: str) -> list[float]:
    """The gateway's own answer for `text`, asked for as plain floats over raw HTTP."""
    answer = httpx.post(served.v1 + "/embeddings", json={"model": EMBED, "input": text, "encoding_format": "float"},
                        headers={"authorization": f"Bearer {served.key}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"][0]["embedding"]  # type: ignore[no-any-return]


def test_chat_answers(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model=CHAT, messages=HELLO, max_tokens=16, temperature=0)  # type: ignore[arg-type]
    assert (reply.choices[0].message.content or "").strip()
    assert reply.usage is not None and reply.usage.completion_tokens <= 16


def test_chat_streams_in_several_chunks(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model=CHAT, messages=HELLO, max_tokens=16, temperature=0,  # type: ignore[arg-type]
                                                 stream=True, stream_options={"include_usage": True}))
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(texts) > 1 and "".join(texts).strip()
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens > 0


def test_forced_tool_call_parses_against_the_schema(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=CHAT, max_tokens=32, temperature=0, tools=[WEATHER],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    call = (reply.choices[0].message.tool_calls or [])[0]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert isinstance(json.loads(call.function.arguments)["city"], str)  # type: ignore[union-attr]


def test_embeddings_are_the_gateways_own(client: openai.OpenAI, served: Served) -> None:
    text = "The cat sat on the mat."
    vector = client.embeddings.create(model=EMBED, input=text).data[0].embedding  # the SDK asks for base64
    assert len(vector) == 384
    assert vector == pytest.approx(gateway_embedding(served, text), abs=1e-6)


def test_speech_comes_back_as_the_words_in_a_transcription(client: openai.OpenAI) -> None:
    wav = client.audio.speech.create(model=SPEECH, voice="alloy", input="Hello there, my friend.",
                                     response_format="wav").content
    assert wav[:4] == b"RIFF"
    heard = client.audio.transcriptions.create(model=STT, file=("hello.wav", wav)).text.lower()
    assert "hello" in heard and "friend" in heard


def test_responses_create(client: openai.OpenAI) -> None:
    response = client.responses.create(model=CHAT, input="Say hello.", instructions="Be brief.",
                                       max_output_tokens=16, temperature=0)
    assert response.status in {"completed", "incomplete"} and response.output_text.strip()
    assert response.usage is not None and response.usage.input_tokens > 0


def test_responses_stream(client: openai.OpenAI) -> None:
    with client.responses.stream(model=CHAT, input="Say hello.", max_output_tokens=16, temperature=0) as stream:
        events = list(stream)
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    # cut short by max_output_tokens, the answer ends as OpenAI's does: `response.incomplete`, not `.completed`
    last = events[-1]
    assert last.type in {"response.completed", "response.incomplete"}
    assert len(deltas) > 1 and "".join(deltas) == last.response.output_text


def test_the_model_list_carries_the_context_length(client: openai.OpenAI) -> None:
    card = next(m for m in client.models.list() if m.id == CHAT)
    extra = card.model_extra or {}
    assert extra.get("context_length") == 8192 and extra.get("max_model_len") == 8192


def test_context_overflow_is_context_length_exceeded(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=CHAT, max_tokens=8,
                                       messages=[{"role": "user", "content": "hello " * 9000}])
    assert caught.value.code == "context_length_exceeded" and caught.value.param == "messages"
