"""The usage ledger on a live gateway: what it counts equals the `usage` the clients were given."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from modelport.testing import FakeUpstream
from modelport.testing.audio import sine_pcm, wav_bytes
from tests.harness import LiveGateway

FLUSH = ["--usage-flush-seconds", "0.2"]


@pytest.fixture(scope="module")
def ledgered(tmp_path_factory: pytest.TempPathFactory, fake: FakeUpstream) -> Iterator[LiveGateway]:
    with LiveGateway(tmp_path_factory.mktemp("ledger"), *FLUSH, "--access-log", "json") as live:
        live.deploy("fake-model", [fake.url])
        live.deploy("fake-proxy", [fake.url], upstream_model="fake-model", generic_proxy=True)
        yield live


def new_key(gateway: LiveGateway, name: str) -> tuple[str, str]:
    """A fresh inference key: (its id, its secret)."""
    created = gateway.api("POST", "/api/keys", {"name": name}).json()
    return created["id"], created["key"]


def usage(gateway: LiveGateway, **params: str) -> list[dict[str, Any]]:
    response = httpx.get(gateway.url + "/api/usage", params=params, timeout=10,
                         headers={"authorization": f"Bearer {gateway.admin_key}"})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def written(gateway: LiveGateway, key_id: str, requests: int, timeout: float = 20) -> dict[str, dict[str, Any]]:
    """The ledger's sums per endpoint for `key_id`, once it holds `requests` requests."""
    deadline = time.monotonic() + timeout
    while True:
        rows = usage(gateway, key=key_id, group="endpoint")
        if sum(row["requests"] for row in rows) >= requests or time.monotonic() > deadline:
            return {row["group"]: row for row in rows}
        time.sleep(0.1)


def test_text_endpoints_count_what_the_clients_received(ledgered: LiveGateway) -> None:
    key_id, secret = new_key(ledgered, "text")
    client = openai.OpenAI(base_url=ledgered.v1, api_key=secret, max_retries=0)
    claude = anthropic.Anthropic(base_url=ledgered.url, api_key=secret, max_retries=0)
    messages: Any = [{"role": "user", "content": "count my tokens please"}]
    chat = client.chat.completions.create(model="fake-model", messages=messages)
    chunks = list(client.chat.completions.create(model="fake-model", messages=messages, stream=True,
                                                 stream_options={"include_usage": True}))
    streamed = next(chunk.usage for chunk in chunks if chunk.usage is not None)
    completion = client.completions.create(model="fake-model", prompt="one two three")
    embedding = client.embeddings.create(model="fake-model", input=["alpha beta", "gamma delta epsilon"])
    answer = claude.messages.create(model="fake-model", max_tokens=20, messages=messages)
    with claude.messages.stream(model="fake-model", max_tokens=20, messages=messages) as stream:
        final = stream.get_final_message()
    sums = written(ledgered, key_id, 6)
    chat_row = sums["/v1/chat/completions"]
    assert chat.usage is not None and completion.usage is not None
    assert chat_row["requests"] == 2 and chat_row["output_tokens"] > 0 and streamed.completion_tokens > 0
    assert chat_row["input_tokens"] == chat.usage.prompt_tokens + streamed.prompt_tokens
    assert chat_row["output_tokens"] == chat.usage.completion_tokens + streamed.completion_tokens
    assert sums["/v1/completions"]["output_tokens"] == completion.usage.completion_tokens
    assert sums["/v1/completions"]["input_tokens"] == completion.usage.prompt_tokens
    assert sums["/v1/embeddings"]["input_tokens"] == embedding.usage.prompt_tokens
    messages_row = sums["/v1/messages"]
    assert messages_row["requests"] == 2  # translated: each counted once, not once more for its chat call
    assert messages_row["input_tokens"] == answer.usage.input_tokens + final.usage.input_tokens
    assert messages_row["output_tokens"] == answer.usage.output_tokens + final.usage.output_tokens


def test_media_rerank_and_proxy_count_their_units(ledgered: LiveGateway) -> None:
    key_id, secret = new_key(ledgered, "media")
    client = openai.OpenAI(base_url=ledgered.v1, api_key=secret, max_retries=0)
    headers = {"authorization": f"Bearer {secret}"}
    documents = ["the cat sat", "a dog ran", "cats and dogs"]
    rerank = httpx.post(ledgered.v1 + "/rerank", headers=headers, timeout=10,
                        json={"model": "fake-model", "query": "cat", "documents": documents}).json()
    spoken = "Hello there, usage ledger."
    client.audio.speech.create(model="fake-model", voice="alloy", input=spoken).read()
    heard = client.audio.transcriptions.create(model="fake-model", file=("a.wav", wav_bytes(sine_pcm(1.5))),
                                               response_format="verbose_json")
    client.images.generate(model="fake-model", prompt="two squares", n=2, response_format="b64_json")
    proxied = httpx.post(ledgered.url + "/model/proxy/echo/anything", headers={**headers,
                         "x-gpustack-model": "fake-proxy"}, json={"usage": {"prompt_tokens": 99}}, timeout=10)
    assert proxied.status_code == 200, proxied.text
    sums = written(ledgered, key_id, 5)
    assert sums["/v1/rerank"]["input_tokens"] == rerank["usage"]["total_tokens"]
    assert sums["/v1/rerank"]["documents"] == len(documents)
    assert sums["/v1/audio/speech"]["characters"] == len(spoken)
    assert sums["/v1/audio/transcriptions"]["audio_seconds"] == pytest.approx(heard.duration)
    assert sums["/v1/images/generations"]["images"] == 2 and heard.duration and heard.duration > 1
    proxy_row = sums["/model/proxy"]
    assert proxy_row["requests"] == 1 and proxy_row["input_tokens"] == 0  # the generic proxy: requests only


def test_each_request_gets_one_access_log_line_without_secrets(ledgered: LiveGateway) -> None:
    key_id, secret = new_key(ledgered, "logged")
    client = openai.OpenAI(base_url=ledgered.v1, api_key=secret, max_retries=0)
    client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "secret prompt"}])
    deadline = time.monotonic() + 10
    while key_id not in (log := Path(ledgered.log_path).read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [line for line in log.splitlines() if f'"key":"{key_id}"' in line]
    assert len(lines) == 1
    assert '"endpoint":"/v1/chat/completions"' in lines[0] and '"deployment":"fake-model"' in lines[0]
    assert '"status":200' in lines[0] and '"instance":"fake-model/0"' in lines[0]
    assert secret not in log and "secret prompt" not in log


def test_reports_through_the_api_and_the_cli(ledgered: LiveGateway) -> None:
    key_id, secret = new_key(ledgered, "reported")
    client = openai.OpenAI(base_url=ledgered.v1, api_key=secret, max_retries=0)
    for _ in range(3):
        client.embeddings.create(model="fake-model", input="four words right here")
    written(ledgered, key_id, 3)
    (hour,) = usage(ledgered, key=key_id, group="hour", **{"from": "1h"})
    (day,) = usage(ledgered, key=key_id, group="day", **{"from": "2d", "to": "0s"})
    assert hour["requests"] == day["requests"] == 3 and hour["input_tokens"] == day["input_tokens"] > 0
    assert usage(ledgered, key=key_id, **{"from": "2000-01-01", "to": "2000-01-02"}) == []
    bad = httpx.get(ledgered.url + "/api/usage", params={"from": "yesterday"}, timeout=10,
                    headers={"authorization": f"Bearer {ledgered.admin_key}"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "from"
    for remote in (False, True):
        table = ledgered.cli("usage", "--by", "endpoint", "--key-id", key_id, remote=remote).stdout.splitlines()
        assert table[0].split()[:3] == ["endpoint", "requests", "errors"]
        row = table[1].split()
        assert row[:3] == ["/v1/embeddings", "3", "0"] and row[3] == str(day["input_tokens"])
        assert table[-1].split()[:2] == ["total", "3"]
