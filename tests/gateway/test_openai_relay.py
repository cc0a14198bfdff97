"""The OpenAI routes through a live gateway, with the official SDK, against the fake upstream."""

from __future__ import annotations

import base64
import io
import struct
import wave

import httpx
import openai
import pytest

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway, last_request


@pytest.fixture(scope="module")
def client(gateway: LiveGateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=gateway.create_key("sdk"), max_retries=0)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_models_lists_ready_deployments(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert "fake-model" in ids
    assert client.models.retrieve("fake-model").id == "fake-model"


def test_chat_relayed_unchanged(client: openai.OpenAI, fake: FakeUpstream) -> None:
    reply = client.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "hello"}])
    assert reply.model == "fake-model"
    assert reply.choices[0].message.content == "Echo: hello"
    assert reply.usage is not None and reply.usage.total_tokens > 0
    received = last_request(fake, "/v1/chat/completions")
    assert received.path == "/v1/chat/completions"
    assert b'"messages"' in received.body
    assert "authorization" not in {k.lower() for k in received.headers}  # the client's key never goes upstream


def test_chat_stream_matches_non_stream(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "stream me please"}]
    whole = client.chat.completions.create(model="fake-model", messages=messages)
    chunks = list(
        client.chat.completions.create(
            model="fake-model", messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[-1].usage is not None


def test_stream_bytes_are_relayed_verbatim(gateway: LiveGateway, fake: FakeUpstream) -> None:
    body = {"model": "fake-model", "stream": True, "messages": [{"role": "user", "content": "abc"}]}
    headers = {"authorization": f"Bearer {gateway.admin_key}"}
    through = httpx.post(gateway.v1 + "/chat/completions", json=body, headers=headers).content
    direct = httpx.post(fake.url + "/chat/completions", json=body).content
    strip = lambda raw: [line for line in raw.split(b"\n") if b'"created"' not in line and b'"id"' not in line]  # noqa: E731
    assert strip(through) == strip(direct)
    assert through.endswith(b"data: [DONE]\n\n")


def test_non_stream_never_becomes_sse(gateway: LiveGateway) -> None:
    response = httpx.post(
        gateway.v1 + "/chat/completions",
        json={"model": "fake-model", "stream": False, "messages": [{"role": "user", "content": "x"}]},
        headers={"authorization": f"Bearer {gateway.admin_key}"},
    )
    assert response.headers["content-type"].startswith("application/json")


def test_completions(client: openai.OpenAI) -> None:
    result = client.completions.create(model="fake-model", prompt="Say hi", max_tokens=5)
    assert result.choices[0].text
    streamed = "".join(c.choices[0].text for c in client.completions.create(
        model="fake-model", prompt="Say hi", max_tokens=5, stream=True) if c.choices)
    assert streamed == result.choices[0].text


def test_embeddings_float_and_base64(client: openai.OpenAI) -> None:
    floats = client.embeddings.create(model="fake-model", input=["a", "b"])
    assert len(floats.data) == 2
    raw = client.embeddings.with_raw_response.create(model="fake-model", input=["a", "b"], encoding_format="base64")
    encoded = raw.http_response.json()["data"][0]["embedding"]
    decoded = struct.unpack(f"<{len(base64.b64decode(encoded)) // 4}f", base64.b64decode(encoded))
    assert decoded == pytest.approx(floats.data[0].embedding)


def test_image_generation_and_edit(client: openai.OpenAI) -> None:
    generated = client.images.generate(model="fake-model", prompt="a cat", size="512x512", response_format="b64_json")
    assert png_size(base64.b64decode(generated.data[0].b64_json or "")) == (512, 512)
    image = base64.b64decode(generated.data[0].b64_json or "")
    edited = client.images.edit(
        model="fake-model", image=("cat.png", image, "image/png"), prompt="add a hat", size="256x256", n=2
    )
    assert len(edited.data) == 2
    assert png_size(base64.b64decode(edited.data[0].b64_json or "")) == (256, 256)


def test_speech_binary_relayed(client: openai.OpenAI) -> None:
    audio = client.audio.speech.create(model="fake-model", voice="alloy", input="Hello there.", response_format="wav")
    with wave.open(io.BytesIO(audio.content)) as wav:
        assert wav.getnframes() / wav.getframerate() > 0.3


def test_transcription_multipart_with_model_after_file(gateway: LiveGateway, fake: FakeUpstream) -> None:
    upload = b"RIFF" + bytes(2_000_000)
    files = [("file", ("speech.wav", upload, "audio/wav")), ("model", (None, "fake-model")), ("language", (None, "en"))]
    response = httpx.post(gateway.v1 + "/audio/transcriptions", files=files,
                          headers={"authorization": f"Bearer {gateway.admin_key}"}, timeout=30)
    assert response.status_code == 200, response.text
    assert str(len(upload)) in response.json()["text"]
    assert last_request(fake, "/v1/audio/transcriptions").body.count(upload) == 1


def test_transcription_with_sdk(client: openai.OpenAI) -> None:
    text = client.audio.transcriptions.create(model="fake-model", file=("a.wav", b"RIFF" + bytes(1000)),
                                              response_format="text")
    assert "fake transcription" in str(text)


def test_served_name_rewritten_both_ways(gateway: LiveGateway, fake: FakeUpstream, client: openai.OpenAI) -> None:
    gateway.deploy("alias", [fake.url], upstream_model="fake-model")
    reply = client.chat.completions.create(model="alias", messages=[{"role": "user", "content": "hi"}])
    assert reply.model == "alias"
    assert b'"model":"fake-model"' in last_request(fake, "/v1/chat/completions").body.replace(b" ", b"")
    chunks = list(client.chat.completions.create(model="alias", messages=[{"role": "user", "content": "hi"}],
                                                 stream=True))
    assert {c.model for c in chunks} == {"alias"}
    text = client.audio.transcriptions.create(model="alias", file=("a.wav", b"RIFF0000"), response_format="json")
    assert text.text
    assert b"fake-model" in last_request(fake, "/v1/audio/transcriptions").body


def test_upstream_errors_pass_through(gateway: LiveGateway) -> None:
    response = httpx.post(
        gateway.v1 + "/chat/completions",
        json={"model": "fake-model", "messages": [{"role": "user", "content": "x"}]},
        headers={"authorization": f"Bearer {gateway.admin_key}", "x-fake-status": "429"},
    )
    assert response.status_code == 429
    assert response.json()["error"]["message"]


def test_image_urls_are_served_by_the_gateway(client: openai.OpenAI, gateway: LiveGateway, fake: FakeUpstream) -> None:
    generated = client.images.generate(model="fake-model", prompt="a cat", size="256x512", response_format="url", n=2)
    assert len(generated.data) == 2
    for item in generated.data:
        assert item.url is not None and item.url.startswith(gateway.v1 + "/images/files/")
        image = httpx.get(item.url)  # no key needed: the name is an unguessable token
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert png_size(image.content) == (256, 512)
    assert last_request(fake, "/v1/images/generations").json()["response_format"] == "b64_json"
    source = httpx.get(generated.data[0].url or "").content
    edited = client.images.edit(model="fake-model", image=("cat.png", source, "image/png"), prompt="hat",
                                size="256x256", response_format="url")
    assert png_size(httpx.get(edited.data[0].url or "").content) == (256, 256)
    assert httpx.get(gateway.v1 + "/images/files/" + "A" * 43 + ".png").status_code == 404
    assert httpx.get(gateway.v1 + "/images/files/../admin-key").status_code == 404


def test_image_store_expires(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from modelport.store.images import ImageStore

    store = ImageStore(tmp_path, ttl_seconds=0.2)
    name = store.put(b"\x89PNG\r\n\x1a\nxxxx")
    assert store.get(name) == (b"\x89PNG\r\n\x1a\nxxxx", b"image/png")
    import time

    time.sleep(0.3)
    assert store.get(name) is None
