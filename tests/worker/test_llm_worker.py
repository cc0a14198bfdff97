"""A live llama.cpp worker (SmolLM2-135M-Instruct) driven with the openai SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import openai
import pytest

from tests.worker.live import LiveWorker, require_ready

MODEL = "smollm2-135m-instruct"
# SmolLM2-135M rambles with its default system prompt; asked for one sentence it answers reliably.
SYSTEM = {"role": "system", "content": "Answer in one short sentence."}
FRANCE = [SYSTEM, {"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    require_ready(MODEL)
    with LiveWorker("llama.cpp", MODEL, Path(tmp_path_factory.mktemp("llm"))) as live:
        yield live


@pytest.fixture(scope="module")
def client(worker: LiveWorker) -> openai.OpenAI:
    return openai.OpenAI(base_url=worker.url + "/v1", api_key=worker.secret, max_retries=0)


def test_chat_answers_paris(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model=MODEL, messages=FRANCE, temperature=0)  # type: ignore[arg-type]
    choice = reply.choices[0]
    assert "Paris" in (choice.message.content or "")
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert reply.model == MODEL and reply.object == "chat.completion"
    assert reply.usage is not None and reply.usage.prompt_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def test_stream_equals_non_stream_and_usage_chunk(client: openai.OpenAI) -> None:
    full = client.chat.completions.create(model=MODEL, messages=FRANCE, temperature=0)  # type: ignore[arg-type]
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=FRANCE,
            temperature=0,
            stream=True,  # type: ignore[arg-type]
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == full.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert full.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (
        full.usage.prompt_tokens,
        full.usage.completion_tokens,
    )
    assert all(c.usage is None for c in chunks[:-1])
    assert len({c.id for c in chunks}) == 1


def test_completion_tokens_count_generated_tokens(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL, messages=FRANCE, temperature=0, logprobs=True, top_logprobs=2
    )  # type: ignore[arg-type]
    choice = reply.choices[0]
    assert choice.logprobs is not None and choice.logprobs.content is not None
    assert reply.usage is not None and reply.usage.completion_tokens == len(choice.logprobs.content)
    assert "".join(t.token for t in choice.logprobs.content) == choice.message.content
    assert all(t.logprob <= 0 and len(t.top_logprobs) == 2 for t in choice.logprobs.content)


def test_max_tokens_gives_length(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Write a long story about a dragon."}],
        max_tokens=5,
        temperature=0,
    )
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 5


def test_stop_string(client: openai.OpenAI) -> None:
    base = client.chat.completions.create(model=MODEL, messages=FRANCE, temperature=0)  # type: ignore[arg-type]
    text = base.choices[0].message.content or ""
    assert " is " in text
    stopped = client.chat.completions.create(model=MODEL, messages=FRANCE, temperature=0, stop=[" is "])  # type: ignore[arg-type]
    assert stopped.choices[0].message.content == text.split(" is ")[0]
    assert stopped.choices[0].finish_reason == "stop"


def test_json_object_and_schema(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "Give a JSON object describing a cat with keys name and age."}]
    reply = client.chat.completions.create(
        model=MODEL,
        messages=messages,
        temperature=0,
        max_tokens=200,  # type: ignore[arg-type]
        response_format={"type": "json_object"},
    )
    assert isinstance(json.loads(reply.choices[0].message.content or ""), dict)
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    reply = client.chat.completions.create(
        model=MODEL,
        messages=messages,
        temperature=0,
        max_tokens=200,  # type: ignore[arg-type]
        response_format={"type": "json_schema", "json_schema": {"name": "cat", "schema": schema}},
    )
    cat = json.loads(reply.choices[0].message.content or "")
    assert isinstance(cat["name"], str) and isinstance(cat["age"], int)


def test_n_and_seed(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL, messages=FRANCE, n=2, temperature=1.0, seed=7, max_tokens=8
    )  # type: ignore[arg-type]
    assert [c.index for c in reply.choices] == [0, 1]
    again = client.chat.completions.create(
        model=MODEL, messages=FRANCE, n=2, temperature=1.0, seed=7, max_tokens=8
    )  # type: ignore[arg-type]
    assert [c.message.content for c in reply.choices] == [c.message.content for c in again.choices]


def test_completions_stream_and_logprobs(client: openai.OpenAI) -> None:
    full = client.completions.create(
        model=MODEL, prompt="The capital of France is", max_tokens=8, temperature=0, logprobs=1
    )
    assert full.object == "text_completion" and full.usage is not None
    assert full.choices[0].logprobs is not None
    assert len(full.choices[0].logprobs.tokens or []) == full.usage.completion_tokens
    streamed = list(
        client.completions.create(
            model=MODEL, prompt="The capital of France is", max_tokens=8, temperature=0, stream=True
        )
    )
    assert "".join(c.choices[0].text for c in streamed) == full.choices[0].text
    assert streamed[-1].choices[0].finish_reason == full.choices[0].finish_reason


def test_bad_requests_are_400(client: openai.OpenAI) -> None:
    for kwargs in (
        {"messages": []},
        {"messages": FRANCE, "temperature": 5},
        {"messages": FRANCE, "response_format": {"type": "xml"}},
    ):
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model=MODEL, **kwargs)  # type: ignore[call-overload]
    with pytest.raises(openai.BadRequestError):  # longer than the context
        client.completions.create(model=MODEL, prompt="word " * 9000, max_tokens=4)
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model=MODEL, input="hi")


async def test_tokenize(worker: LiveWorker, client: openai.OpenAI) -> None:
    async with aiohttp.ClientSession(headers=worker.headers) as http:
        async with http.post(worker.url + "/v1/tokenize", json={"model": MODEL, "messages": FRANCE}) as r:
            chat = await r.json()
        async with http.post(worker.url + "/v1/tokenize", json={"model": MODEL, "prompt": "Hello"}) as r:
            plain = await r.json()
    reply = client.chat.completions.create(model=MODEL, messages=FRANCE, max_tokens=1)  # type: ignore[arg-type]
    assert reply.usage is not None and chat["count"] == reply.usage.prompt_tokens == len(chat["tokens"])
    assert chat["max_model_len"] == 8192 and plain["count"] >= 1
