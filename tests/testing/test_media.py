"""Embeddings, rerank, images and audio through the openai SDK and plain HTTP."""

from __future__ import annotations

import base64
import io
import struct
import wave

import aiohttp
import openai
import pytest

from modelport.testing import FakeUpstream


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def make_wav(seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(b"\x00\x00" * int(8000 * seconds))
    return out.getvalue()


async def test_embeddings_float_and_base64_agree(fake: FakeUpstream, client: openai.AsyncOpenAI) -> None:
    inputs = ["alpha", "beta gamma"]
    floats = await client.embeddings.create(model="fake-model", input=inputs, encoding_format="float")
    assert [len(d.embedding) for d in floats.data] == [8, 8]
    assert abs(sum(v * v for v in floats.data[0].embedding) - 1) < 1e-5
    assert floats.usage.prompt_tokens == 3
    async with aiohttp.ClientSession() as http:
        body = {"model": "fake-model", "input": inputs, "encoding_format": "base64"}
        async with http.post(f"{fake.url}/embeddings", json=body) as response:
            encoded = await response.json()
    for item, expected in zip(encoded["data"], floats.data, strict=True):
        raw = base64.b64decode(item["embedding"])
        assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == expected.embedding
    again = await client.embeddings.create(model="fake-model", input="alpha", dimensions=16)
    assert len(again.data[0].embedding) == 16
    sdk_default = await client.embeddings.create(model="fake-model", input=inputs)  # SDK asks for base64
    assert [d.embedding for d in sdk_default.data] == [d.embedding for d in floats.data]


async def test_rerank_orders_by_overlap(fake: FakeUpstream) -> None:
    documents = ["hi", "it is a bear", {"text": "The giant panda is a bear species endemic to China."}]
    body = {"model": "fake-model", "query": "What is a panda?", "top_n": 3, "documents": documents}
    async with aiohttp.ClientSession() as http, http.post(f"{fake.url}/rerank", json=body) as response:
        result = await response.json()
    assert [r["index"] for r in result["results"]] == [2, 1, 0]
    scores = [r["relevance_score"] for r in result["results"]]
    assert scores == sorted(scores, reverse=True)
    assert result["results"][1]["document"] == {"text": "it is a bear"}
    assert result["usage"]["total_tokens"] > 0


async def test_image_generation_b64_and_url(fake: FakeUpstream, client: openai.AsyncOpenAI) -> None:
    result = await client.images.generate(model="fake-model", prompt="a cat", n=2, size="64x32")
    assert len(result.data) == 2
    assert png_size(base64.b64decode(result.data[0].b64_json)) == (64, 32)
    linked = await client.images.generate(model="fake-model", prompt="a cat", response_format="url")
    async with aiohttp.ClientSession() as http, http.get(linked.data[0].url) as response:
        assert response.content_type == "image/png"
        assert png_size(await response.read()) == (256, 256)


async def test_image_edit_multipart(fake: FakeUpstream, client: openai.AsyncOpenAI) -> None:
    source = ("in.png", b"\x89PNG fake bytes", "image/png")
    result = await client.images.edit(model="fake-model", image=source, prompt="hat", size="16x24")
    assert png_size(base64.b64decode(result.data[0].b64_json)) == (16, 24)
    assert b"fake bytes" in fake.requests[-1].body
    form = aiohttp.FormData()
    form.add_field("prompt", "no image here")
    form.add_field("mask", b"m", filename="mask.png")
    async with (aiohttp.ClientSession() as http,
                http.post(f"{fake.url}/images/edits", data=form) as response):
        assert response.status == 400


async def test_speech_is_a_wav_of_plausible_length(client: openai.AsyncOpenAI) -> None:
    text = "Hello from the fake speech engine"
    response = await client.audio.speech.create(model="fake-model", voice="alloy", input=text,
                                                response_format="wav")
    assert response.response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as reader:
        seconds = reader.getnframes() / reader.getframerate()
    assert seconds == pytest.approx(len(text) * 0.06, rel=0.01)
    mp3 = await client.audio.speech.create(model="fake-model", voice="alloy", input="hi")
    assert mp3.response.headers["content-type"] == "audio/mpeg"


async def test_transcriptions(client: openai.AsyncOpenAI) -> None:
    audio = ("a.wav", make_wav(2.0), "audio/wav")
    as_json = await client.audio.transcriptions.create(model="fake-model", file=audio)
    assert as_json.text == f"fake transcription of {len(audio[1])} bytes"
    as_text = await client.audio.transcriptions.create(model="fake-model", file=audio, response_format="text")
    assert as_text.strip() == as_json.text
    srt = await client.audio.transcriptions.create(model="fake-model", file=audio, response_format="srt")
    assert srt.startswith("1\n00:00:00,000 --> 00:00:02,000\n")
    vtt = await client.audio.transcriptions.create(model="fake-model", file=audio, response_format="vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:02.000")
    verbose = await client.audio.transcriptions.create(model="fake-model", file=audio, language="fr",
                                                       response_format="verbose_json")
    assert verbose.duration == pytest.approx(2.0) and verbose.language == "fr"


async def test_translation_and_missing_file(fake: FakeUpstream) -> None:
    form = aiohttp.FormData()
    form.add_field("file", make_wav(0.5), filename="a.wav")
    async with (aiohttp.ClientSession() as http,
                http.post(f"{fake.url}/audio/translations", data=form) as response):
        assert (await response.json())["text"].startswith("fake transcription of")
    form = aiohttp.FormData()
    form.add_field("model", "fake-model")
    form.add_field("other", b"x", filename="x.bin")
    async with (aiohttp.ClientSession() as http,
                http.post(f"{fake.url}/audio/transcriptions", data=form) as response):
        assert response.status == 400
        assert (await response.json())["error"]["type"] == "invalid_request_error"
