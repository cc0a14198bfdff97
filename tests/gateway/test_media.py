"""Speech, transcription and images through the gateway, on the built-in engines."""

from __future__ import annotations

import base64
import io
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import httpx
import openai
import orjson
import pytest

from modelport.engines.media import SPEECH_FORMATS
from tests.engines.tiny_diffusion import build_tiny_pipeline, require_images
from tests.harness import LiveGateway
from tests.worker.live import require_ready
from tests.worker.media_helpers import GERMAN, SENTENCES, decoded_seconds, espeak_wav, word_error_rate, words_of

SPEECH, STT = "piper-en-us-joe", "whisper-tiny-en"


@pytest.fixture(scope="module")
def client(builtin_gateway: LiveGateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=builtin_gateway.v1, api_key=builtin_gateway.admin_key, max_retries=0)


@pytest.mark.parametrize("fmt", SPEECH_FORMATS)
def test_speech_in_every_format_decodes(client: openai.OpenAI, fmt: str) -> None:
    speech = client.audio.speech.create(model=SPEECH, voice="alloy", input=SENTENCES[0], response_format=fmt)
    seconds = len(speech.content) / 2 / 22050 if fmt == "pcm" else decoded_seconds(speech.content)[0]
    assert 1.5 < seconds < 6.0, (fmt, seconds)


def test_speech_back_into_transcription(client: openai.OpenAI) -> None:
    heard = []
    for sentence in SENTENCES:
        audio = client.audio.speech.create(model=SPEECH, voice="alloy", input=sentence, response_format="mp3")
        heard.append(client.audio.transcriptions.create(model=STT, file=("s.mp3", audio.content)).text)
    assert word_error_rate(" ".join(SENTENCES), " ".join(heard)) <= 0.1, heard


def test_transcription_formats_are_well_formed(client: openai.OpenAI) -> None:
    wav = client.audio.speech.create(model=SPEECH, voice="joe", input=" ".join(SENTENCES), response_format="wav").content
    srt = str(client.audio.transcriptions.create(model=STT, file=("a.wav", wav), response_format="srt"))
    assert re.search(r"^1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n\S", srt, re.M)
    vtt = str(client.audio.transcriptions.create(model=STT, file=("a.wav", wav), response_format="vtt"))
    assert vtt.startswith("WEBVTT") and re.search(r"(\d\d:)?\d\d:\d\d\.\d{3} --> (\d\d:)?\d\d:\d\d\.\d{3}", vtt)
    verbose = client.audio.transcriptions.create(model=STT, file=("a.wav", wav), response_format="verbose_json",
                                                 timestamp_granularities=["word", "segment"])
    assert verbose.segments and verbose.words and verbose.duration > 3
    assert all(s.start <= s.end for s in verbose.segments)


def test_speech_as_server_sent_events_through_the_gateway(client: openai.OpenAI) -> None:
    with client.audio.speech.with_streaming_response.create(
        model=SPEECH, voice="alloy", input=" ".join(SENTENCES), response_format="pcm", stream_format="sse"
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [orjson.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    assert [e["type"] for e in events] == ["speech.audio.delta"] * len(SENTENCES) + ["speech.audio.done"]
    pcm = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    assert 5.0 < len(pcm) / 2 / 22050 < 15.0 and events[-1]["usage"]["input_tokens"] > 0


def test_transcription_streams_through_the_gateway(client: openai.OpenAI) -> None:
    wav = client.audio.speech.create(model=SPEECH, voice="joe", input=" ".join(SENTENCES), response_format="wav").content
    events = list(client.audio.transcriptions.create(model=STT, file=("a.wav", wav), stream=True))
    assert [e.type for e in events][-1] == "transcript.text.done" and len(events) >= 2
    assert "".join(e.delta for e in events[:-1]) == events[-1].text
    assert word_error_rate(" ".join(SENTENCES), events[-1].text) <= 0.1


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the SDK marks translations deprecated
def test_multilingual_whisper_from_the_catalog_translates(builtin_gateway: LiveGateway, client: openai.OpenAI) -> None:
    require_ready("whisper-base")
    german = espeak_wav(GERMAN, "de")
    builtin_gateway.cli("deploy", "whisper-base", "--model", "whisper-base")  # engine and category: the catalog's
    try:
        deployment = builtin_gateway.api("GET", "/api/deployments/whisper-base").json()
        assert deployment["engine"] == "faster-whisper" and deployment["category"] == "speech_to_text"
        builtin_gateway.wait_ready("whisper-base", timeout=120)
        english = client.audio.translations.create(model="whisper-base", file=("de.wav", german))
        assert {"good", "morning", "park"} <= set(words_of(english.text)), english.text
        heard = client.audio.transcriptions.create(model="whisper-base", file=("de.wav", german),
                                                   response_format="verbose_json")
        assert heard.language == "german" and {"guten", "morgen"} <= set(words_of(heard.text))
    finally:
        builtin_gateway.cli("undeploy", "whisper-base")


def test_bad_media_inputs_are_clear_400s(client: openai.OpenAI) -> None:
    for call in (
        lambda: client.audio.speech.create(model=SPEECH, voice="alloy", input=""),
        lambda: client.audio.speech.create(model=SPEECH, voice="nobody", input="hi"),  # type: ignore[arg-type]
        lambda: client.audio.speech.create(model=SPEECH, voice="alloy", input="x" * 4097),
        lambda: client.audio.transcriptions.create(model=STT, file=("a.wav", b"not audio at all" * 10)),
    ):
        with pytest.raises(openai.BadRequestError) as caught:
            call()
        assert caught.value.body["message"]  # type: ignore[index]


def png(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), (20, 160, 90, 255)).save(buffer, format="PNG")
    return buffer.getvalue()


def png_size(data: bytes) -> tuple[int, int]:
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def images(gateway: LiveGateway, tmp_path_factory: pytest.TempPathFactory) -> Iterator[openai.OpenAI]:
    require_images()
    folder = build_tiny_pipeline(Path(tmp_path_factory.mktemp("tiny-sd")) / "pipeline")
    gateway.cli("deploy", "tiny-sd", "--engine", "diffusers", "--model", str(folder), "--category", "image",
                "--engine-arg", "steps=2")
    gateway.wait_ready("tiny-sd", timeout=180)
    yield openai.OpenAI(base_url=gateway.v1, api_key=gateway.admin_key, max_retries=0)
    gateway.cli("undeploy", "tiny-sd")


def test_image_generation_in_both_formats(images: openai.OpenAI) -> None:
    b64 = images.images.generate(model="tiny-sd", prompt="a red square", size="64x128", response_format="b64_json")
    assert png_size(base64.b64decode(b64.data[0].b64_json or "")) == (64, 128)
    url = images.images.generate(model="tiny-sd", prompt="a red square", size="128x64", response_format="url", n=2)
    assert len(url.data) == 2
    assert png_size(httpx.get(url.data[1].url or "").content) == (128, 64)


def test_image_edit_with_and_without_mask(images: openai.OpenAI) -> None:
    source = png(64, 64)
    inpainted = images.images.edit(model="tiny-sd", image=("a.png", source), mask=("m.png", png(64, 64)),
                                   prompt="a hat", size="64x64", response_format="b64_json")
    assert png_size(base64.b64decode(inpainted.data[0].b64_json or "")) == (64, 64)
    varied = images.images.edit(model="tiny-sd", image=("a.png", source), prompt="a hat", size="128x128",
                                response_format="url")
    assert png_size(httpx.get(varied.data[0].url or "").content) == (128, 128)


def decoded_image(data: bytes) -> tuple[str, tuple[int, int]]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return str(image.format), image.size


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_image_output_formats_through_the_gateway(images: openai.OpenAI, fmt: Literal["jpeg", "webp"]) -> None:
    for response_format in ("b64_json", "url"):
        made = images.images.generate(model="tiny-sd", prompt="a red square", size="128x64", output_format=fmt,
                                      output_compression=70, response_format=response_format)
        edited = images.images.edit(model="tiny-sd", image=("a.png", png(64, 64)), prompt="a hat", size="64x128",
                                    output_format=fmt, response_format=response_format)
        for result, size in ((made, (128, 64)), (edited, (64, 128))):
            assert result.output_format == fmt and result.size == f"{size[0]}x{size[1]}" and result.data
            item = result.data[0]
            if response_format == "url":
                assert (item.url or "").endswith(f".{fmt}") and item.b64_json is None
                fetched = httpx.get(item.url or "")
                assert fetched.status_code == 200 and fetched.headers["content-type"] == f"image/{fmt}"
                data = fetched.content
            else:
                data = base64.b64decode(item.b64_json or "")
            assert decoded_image(data) == (fmt.upper(), size)


def test_lower_output_compression_makes_a_smaller_jpeg_through_the_gateway(images: openai.OpenAI) -> None:
    def jpeg(compression: int) -> bytes:
        result = images.images.generate(model="tiny-sd", prompt="flowers", size="128x128", output_format="jpeg",
                                        output_compression=compression, extra_body={"seed": 5})
        assert result.data
        return base64.b64decode(result.data[0].b64_json or "")

    best, small = jpeg(100), jpeg(15)
    assert decoded_image(best) == decoded_image(small) == ("JPEG", (128, 128))
    assert len(small) < len(best)


def test_bad_output_format_and_compression_are_400s_naming_the_param(images: openai.OpenAI) -> None:
    source = ("a.png", png(64, 64))
    for fields, param in (({"output_format": "gif"}, "output_format"),
                          ({"output_format": "jpeg", "output_compression": 101}, "output_compression"),
                          ({"output_format": "webp", "output_compression": -5}, "output_compression")):
        for call in (lambda: images.images.generate(model="tiny-sd", prompt="x", extra_body=fields),  # noqa: B023
                     lambda: images.images.edit(model="tiny-sd", image=source, prompt="x", extra_body=fields)):  # noqa: B023
            with pytest.raises(openai.BadRequestError) as caught:
                call()
            assert caught.value.body["param"] == param  # type: ignore[index]


def test_bad_image_inputs_are_clear_400s(images: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        images.images.generate(model="tiny-sd", prompt="x", size="13x7")  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError):
        images.images.edit(model="tiny-sd", image=("a.png", png(64, 64)), mask=("m.png", png(32, 32)), prompt="x")
