"""Behaviour controls, API keys, recording, introspection and the echo route."""

from __future__ import annotations

import asyncio
import base64
import time

import aiohttp
import httpx
import openai
import pytest

from modelport.testing import FakeUpstream

USER = [{"role": "user", "content": "Hello"}]
STREAM_BODY = {"model": "fake-model", "messages": USER, "stream": True}


async def wait_for(condition, timeout: float = 3.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_status_control(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        await client.chat.completions.create(model="fake-model", messages=USER,
                                             extra_headers={"x-fake-status": "503"})
    assert caught.value.status_code == 503
    assert set(caught.value.body) == {"message", "type", "param", "code"}
    with pytest.raises(openai.RateLimitError):
        await client.embeddings.create(model="fake-model", input="x", extra_headers={"x-fake-status": "429"})


async def test_delay_control(client: openai.AsyncOpenAI) -> None:
    started = time.monotonic()
    await client.chat.completions.create(model="fake-model", messages=USER,
                                         extra_headers={"x-fake-delay-ms": "200"})
    assert time.monotonic() - started >= 0.2


async def test_chunk_delay_and_drop_after(fake: FakeUpstream) -> None:
    headers = {"x-fake-chunk-delay-ms": "20", "x-fake-chunks": "5"}
    async with aiohttp.ClientSession() as http:
        started = time.monotonic()
        async with http.post(f"{fake.url}/chat/completions", json=STREAM_BODY, headers=headers) as response:
            body = await response.read()
        assert time.monotonic() - started >= 0.1 and body.endswith(b"data: [DONE]\n\n")
        async with http.post(f"{fake.url}/chat/completions", json=STREAM_BODY,
                             headers={"x-fake-drop-after": "3"}) as response:
            assert response.status == 200
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()
    assert fake.cancelled == 0


async def test_client_disconnect_counts_as_cancelled(fake: FakeUpstream) -> None:
    async with (aiohttp.ClientSession() as http,
                http.post(f"{fake.url}/chat/completions", json=STREAM_BODY,
                          headers={"x-fake-chunk-delay-ms": "200"}) as response):
        assert (await response.content.readline()).startswith(b"data: ")
    await wait_for(lambda: fake.cancelled == 1)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.1)) as http:
        with pytest.raises(asyncio.TimeoutError):
            await http.post(f"{fake.url}/chat/completions", json={**STREAM_BODY, "stream": False},
                            headers={"x-fake-delay-ms": "2000"})
    await wait_for(lambda: fake.cancelled == 2)


async def test_api_key_enforced() -> None:
    async with FakeUpstream(api_key="sk-good") as fake:
        async with openai.AsyncOpenAI(base_url=fake.url, api_key="sk-bad", max_retries=0) as bad:
            with pytest.raises(openai.AuthenticationError) as caught:
                await bad.models.list()
            assert caught.value.body["code"] == "invalid_api_key"
        async with openai.AsyncOpenAI(base_url=fake.url, api_key="sk-good", max_retries=0) as good:
            assert [m.id async for m in good.models.list()] == ["fake-model"]
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{fake.root_url}/_fake/stats")).status_code == 200
            assert (await http.post(f"{fake.root_url}/echo/x")).status_code == 200
            assert (await http.post(f"{fake.url}/echo/x")).status_code == 401


async def test_recording(fake: FakeUpstream, client: openai.AsyncOpenAI) -> None:
    await client.chat.completions.create(model="fake-model", messages=USER, extra_headers={"x-trace": "t1"})
    recorded = fake.requests[-1]
    assert (recorded.method, recorded.path) == ("POST", "/v1/chat/completions")
    assert recorded.headers["authorization"] == "Bearer unused" and recorded.headers["x-trace"] == "t1"
    assert recorded.json() == {"model": "fake-model", "messages": USER}
    async with FakeUpstream(record=False) as quiet:
        async with httpx.AsyncClient() as http:
            await http.get(f"{quiet.url}/models")
        assert quiet.requests == [] and quiet.received == 1


async def test_http_introspection(fake: FakeUpstream) -> None:
    async with httpx.AsyncClient(base_url=fake.root_url) as http:
        await http.post("/v1/embeddings", json={"model": "fake-model", "input": "x"}, params={"a": "1"})
        listed = (await http.get("/_fake/requests")).json()
        assert listed[0]["path"] == "/v1/embeddings" and listed[0]["query"] == "a=1"
        assert base64.b64decode(listed[0]["body"]) == fake.requests[0].body
        assert (await http.delete("/_fake/requests")).status_code == 204
        assert (await http.get("/_fake/requests")).json() == []
        assert (await http.post("/_fake/health", json={"healthy": False})).status_code == 200
        assert (await http.get("/v1/models")).status_code == 503 and not fake.healthy
        fake.healthy = True
        assert (await http.get("/v1/models")).status_code == 200
        stats = (await http.get("/_fake/stats")).json()
        assert stats["received"] == 3 and stats["cancelled"] == 0


async def test_echo(fake: FakeUpstream) -> None:
    async with httpx.AsyncClient(base_url=fake.root_url) as http:
        answer = (await http.put("/echo/a/b", params={"q": "1"}, content=b"abc",
                                 headers={"X-Thing": "y"})).json()
        assert answer["method"] == "PUT" and answer["path"] == "/echo/a/b" and answer["query"] == "q=1"
        assert answer["body_length"] == 3 and answer["headers"]["x-thing"] == "y"
        assert answer["body_sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        streamed = await http.get("/v1/echo/s", params={"stream": "4"})
        assert streamed.text == "line 0\nline 1\nline 2\nline 3\n"


def test_start_in_thread() -> None:
    fake = FakeUpstream(models=["threaded"])
    fake.start_in_thread()
    try:
        answer = httpx.post(f"{fake.url}/chat/completions",
                            json={"model": "threaded", "messages": USER}).json()
        assert answer["choices"][0]["message"]["content"] == "Echo: Hello"
        assert len(fake.requests) == 1
    finally:
        fake.stop_thread()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{fake.url}/models")
