"""``x-fake-fault``: answers with status 200 that are not what the protocol promises."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest

from modelport.testing import FakeUpstream
from modelport.testing.faults import BROKEN_EVENT, HTML_PAGE, WRONG_SHAPE_EVENT

USER = [{"role": "user", "content": "one two three four five"}]
CHAT = {"model": "fake-model", "messages": USER}
STREAM = {**CHAT, "stream": True}


async def post(fake: FakeUpstream, body: dict, fault: str, path: str = "/chat/completions",  # type: ignore[type-arg]
               **headers: str) -> tuple[int, str, bytes]:
    async with aiohttp.ClientSession() as http, http.post(
            fake.url + path, json=body, headers={"x-fake-fault": fault, **headers}) as response:
        return response.status, response.content_type, await response.read()


def events(body: bytes) -> list[bytes]:
    return [event for event in body.split(b"\n\n") if event]


@pytest.mark.parametrize("body", [CHAT, STREAM], ids=["json", "stream"])
async def test_html_page_instead_of_any_answer(fake: FakeUpstream, body: dict) -> None:  # type: ignore[type-arg]
    assert await post(fake, body, "html") == (200, "text/html", HTML_PAGE)


async def test_invalid_json(fake: FakeUpstream) -> None:
    status, kind, body = await post(fake, CHAT, "invalid-json")
    assert (status, kind) == (200, "application/json") and body.startswith(b'{"id":')
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    _, _, streamed = await post(fake, STREAM, "invalid-json")
    sent = events(streamed)
    assert sent[2] + b"\n\n" == BROKEN_EVENT and sent[-1] == b"data: [DONE]"
    assert all(orjson.loads(event[6:])["object"] == "chat.completion.chunk" for event in sent[:2] + sent[3:-1])


async def test_wrong_shape_replaces_every_top_level_list(fake: FakeUpstream) -> None:
    _, _, body = await post(fake, CHAT, "wrong-shape")
    data = orjson.loads(body)
    assert data["choices"] == "nope" and data["object"] == "chat.completion"
    _, _, embedded = await post(fake, {"model": "fake-model", "input": "x"}, "wrong-shape", "/embeddings")
    assert orjson.loads(embedded)["data"] == "nope"
    _, _, streamed = await post(fake, STREAM, "wrong-shape", **{"x-fake-fault-after": "1"})
    assert events(streamed)[1] + b"\n\n" == WRONG_SHAPE_EVENT and streamed.endswith(b"data: [DONE]\n\n")


async def test_missing_fields(fake: FakeUpstream) -> None:
    _, _, body = await post(fake, CHAT, "missing-fields")
    data = orjson.loads(body)
    assert "choices" not in data and data["object"] == "chat.completion" and "usage" in data


async def test_cut_ends_cleanly_before_the_finish(fake: FakeUpstream) -> None:
    status, kind, streamed = await post(fake, STREAM, "cut")
    sent = events(streamed)
    assert (status, kind, len(sent)) == (200, "text/event-stream", 2)
    assert all(orjson.loads(event[6:])["choices"][0]["finish_reason"] is None for event in sent)
    _, _, nothing = await post(fake, STREAM, "cut", **{"x-fake-fault-after": "0"})
    assert nothing == b""
    _, _, whole = await post(fake, CHAT, "cut")
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(whole)
    assert fake.cancelled == 0


async def test_stall_goes_silent_until_the_client_leaves(fake: FakeUpstream) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(fake.url + "/chat/completions", json=STREAM, headers={"x-fake-fault": "stall"}) as resp:
            first = b""
            while first.count(b"\n\n") < 2:
                first += await resp.content.readany()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(resp.content.readany(), 0.5)
        async with http.post(fake.url + "/chat/completions", json=CHAT, headers={"x-fake-fault": "stall"}) as resp:
            assert resp.status == 200 and resp.content_length is not None
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(resp.read(), 0.5)
    deadline = time.monotonic() + 3
    while fake.cancelled < 2:
        assert time.monotonic() < deadline, "the stalled handlers never saw their client go"
        await asyncio.sleep(0.01)
    assert events(first)[0].startswith(b"data: {")


async def test_unknown_fault_and_error_answers_are_left_alone(fake: FakeUpstream) -> None:
    status, _, body = await post(fake, CHAT, "gremlins")
    assert status == 200 and orjson.loads(body)["choices"][0]["message"]["content"] == "Echo: one two three four five"
    status, _, body = await post(fake, CHAT, "wrong-shape", **{"x-fake-status": "500"})
    assert status == 500 and orjson.loads(body)["error"]["message"] == "fake error with status 500"
