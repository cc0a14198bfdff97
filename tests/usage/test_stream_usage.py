"""A streamed chat whose client did not ask for usage is counted all the same: the gateway asks the instance
for it and hides the answer (`usage.stream_usage`). The fake upstream and the built-in llama.cpp engine."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import orjson
import pytest

from modelport.testing import FakeUpstream
from modelport.usage.stream_usage import HiddenUsage, ask_for_usage
from tests.harness import LiveGateway
from tests.worker.live import require_ready

CHAT_MODEL = "smollm2-135m-instruct"


def test_the_option_is_added_once_and_keeps_the_rest() -> None:
    asked = ask_for_usage(b'{"model":"m","stream":true,"stream_options":{"x":1,"include_usage":false},"n":2}')
    assert asked is not None
    assert orjson.loads(asked) == {"model": "m", "stream": True, "stream_options": {"x": 1, "include_usage": True},
                                   "n": 2}
    assert orjson.loads(ask_for_usage(b'{"model":"m","stream":true}') or b"")["stream_options"] == \
        {"include_usage": True}
    assert ask_for_usage(b'{"stream":true,"stream_options":{"include_usage":true}}') is None
    assert ask_for_usage(b'{"stream":true,"stream_options":"odd"}') is None  # the instance answers that


async def _relayed(pieces: list[bytes], content_type: bytes = b"text/event-stream") -> bytes:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    hidden = HiddenUsage(send)
    await hidden({"type": "http.response.start", "status": 200, "headers": [(b"content-type", content_type)]})
    for piece in pieces:
        await hidden({"type": "http.response.body", "body": piece, "more_body": True})
    await hidden({"type": "http.response.body", "body": b""})
    assert sent[-1].get("more_body", False) is False
    return b"".join(message.get("body", b"") for message in sent[1:])


def test_the_usage_chunk_and_the_null_usages_are_hidden_however_the_stream_is_split() -> None:
    import asyncio

    chunk = b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}\n\n'
    usage = b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}\n\n'
    stream = chunk * 3 + usage + b"data: [DONE]\n\n"
    wanted = chunk.replace(b',"usage":null', b"") * 3 + b"data: [DONE]\n\n"
    for size in (1, 7, 64, len(stream)):
        pieces = [stream[i:i + size] for i in range(0, len(stream), size)]
        assert asyncio.run(_relayed(pieces)) == wanted
    crlf = stream.replace(b"\n", b"\r\n")
    assert asyncio.run(_relayed([crlf])) == wanted.replace(b"\n", b"\r\n")
    untouched = b'data: {"choices":[{"index":0,"delta":{}}],"usage":{"prompt_tokens":3}}\n\n'  # it has a choice
    assert asyncio.run(_relayed([untouched, b'data: {"usage": "text"}\n\n'])) == \
        untouched + b'data: {"usage": "text"}\n\n'
    assert asyncio.run(_relayed([usage], b"application/json")) == usage  # not a stream: as it came


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory, fake: FakeUpstream) -> Iterator[LiveGateway]:
    with LiveGateway(tmp_path_factory.mktemp("stream-usage"), "--usage-flush-seconds", "0.2") as live:
        live.deploy("fake-model", [fake.url])
        yield live


def ledger_tokens(gateway: LiveGateway, key_id: str, requests: int) -> dict[str, Any]:
    """The ledger's total for `key_id` once it holds `requests` requests."""
    deadline = time.monotonic() + 30
    while True:
        answer = httpx.get(gateway.url + "/api/usage", params={"key": key_id}, timeout=10,
                           headers={"authorization": f"Bearer {gateway.admin_key}"})
        rows = answer.json()["data"]
        if (rows and rows[0]["requests"] >= requests) or time.monotonic() > deadline:
            assert rows, answer.text
            return rows[0]  # type: ignore[no-any-return]
        time.sleep(0.1)


def new_key(gateway: LiveGateway) -> tuple[str, str]:
    created = gateway.api("POST", "/api/keys", {"name": "stream-usage"}).json()
    return created["id"], created["key"]


def stream_without_usage(gateway: LiveGateway, model: str, **extra: Any) -> tuple[str, str, bytes]:
    """Stream a chat without `stream_options` with a fresh key: (key id, its secret, the bytes received)."""
    key_id, secret = new_key(gateway)
    body = {"model": model, "messages": [{"role": "user", "content": "Say hello."}], "stream": True, **extra}
    with httpx.stream("POST", gateway.v1 + "/chat/completions", json=body, timeout=120,
                      headers={"authorization": f"Bearer {secret}"}) as answer:
        assert answer.status_code == 200
        received = answer.read()
    return key_id, secret, received


def test_a_stream_from_the_fake_upstream_is_counted_and_looks_as_asked(counted: LiveGateway) -> None:
    key_id, secret, received = stream_without_usage(counted, "fake-model")
    assert b'"usage"' not in received and received.endswith(b"data: [DONE]\n\n")
    client = openai.OpenAI(base_url=counted.v1, api_key=secret, max_retries=0)
    chunks = list(client.chat.completions.create(model="fake-model", stream=True,
                                                 messages=[{"role": "user", "content": "Say hello."}]))
    assert chunks and all(chunk.usage is None and chunk.choices for chunk in chunks)
    admin = openai.OpenAI(base_url=counted.v1, api_key=counted.admin_key, max_retries=0)  # not counted for key_id
    whole = admin.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "Say hello."}])
    assert whole.usage is not None and whole.usage.completion_tokens > 0
    total = ledger_tokens(counted, key_id, 2)  # the two streams, each the same answer as the whole one
    assert total["requests"] == 2 and total["input_tokens"] == 2 * whole.usage.prompt_tokens
    assert total["output_tokens"] == 2 * whole.usage.completion_tokens


def test_a_stream_from_the_built_in_engine_is_counted(counted: LiveGateway) -> None:
    require_ready(CHAT_MODEL)
    counted.cli("deploy", "usage-chat", "--engine", "llama.cpp", "--model", CHAT_MODEL)
    try:
        counted.wait_ready("usage-chat", timeout=180)
        key_id, _, received = stream_without_usage(counted, "usage-chat", max_tokens=8, temperature=0)
        events = [orjson.loads(line[6:]) for line in received.split(b"\n\n")
                  if line.startswith(b"data: {")]
        assert events and b'"usage"' not in received and all(event["choices"] for event in events)
        total = ledger_tokens(counted, key_id, 1)
        assert total["input_tokens"] > 0 and 0 < total["output_tokens"] <= 8
    finally:
        counted.cli("undeploy", "usage-chat")
