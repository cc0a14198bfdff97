"""Pure pieces of the media engines: the streaming audio encoder, transcript formats, the image store,
request validation, and the catalog entries for speech and transcription."""

from __future__ import annotations

import io
import re
import wave

import pytest

from modelport.engines.catalog import default_entries
from modelport.engines.media import SPEECH_FORMATS, Segment, Transcript, Word
from modelport.errors import BadRequest
from modelport.worker import media_parse, transcripts
from modelport.worker.forms import Form, Upload
from modelport.worker.image_store import ImageStore
from tests.worker.media_helpers import decoded_seconds

RATE = 22050


def _tone(seconds: float) -> bytes:
    import numpy as np

    t = np.arange(int(RATE * seconds)) / RATE
    return (np.sin(2 * np.pi * 330 * t) * 8000).astype("<i2").tobytes()


@pytest.mark.parametrize("fmt", SPEECH_FORMATS)
def test_encoder_streams_every_format_with_the_right_duration(fmt: str) -> None:
    pytest.importorskip("av")
    from modelport.engines.audio import AudioEncoder

    encoder = AudioEncoder(fmt, RATE)
    pieces = [encoder.push(_tone(1.0)) for _ in range(3)]
    pieces.append(encoder.finish())
    data = b"".join(pieces)
    assert sum(1 for p in pieces[:3] if p) >= 2, "audio must come out while later sentences are pending"
    if fmt == "pcm":
        seconds = len(data) / 2 / RATE
    else:
        seconds, _ = decoded_seconds(data)
    assert abs(seconds - 3.0) < 0.1, (fmt, seconds)


def test_streamed_wav_header_reads_with_the_wave_module() -> None:
    from modelport.engines.audio import AudioEncoder

    encoder = AudioEncoder("wav", RATE)
    data = encoder.push(_tone(0.5)) + encoder.finish()
    assert data[:4] == b"RIFF" and data[8:16] == b"WAVEfmt "
    with wave.open(io.BytesIO(data)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, RATE)
        assert len(reader.readframes(1 << 30)) == int(RATE * 0.5) * 2


def _transcript() -> Transcript:
    words = (Word(" Hello", 0.0, 0.4, 0.9), Word(" world.", 0.4, 1.2, 0.8))
    seg = Segment(0, 0, 0.0, 1.25, " Hello world.", (1, 2), 0.0, -0.2, 1.1, 0.01, words)
    second = Segment(1, 0, 61.5, 3725.007, " Again.", (3,), 0.0, -0.3, 1.0, 0.02)
    return Transcript(text="Hello world. Again.", language="en", duration=3725.5, segments=(seg, second))


def test_srt_and_vtt_are_well_formed() -> None:
    srt, kind = transcripts.render(_transcript(), "srt", "transcribe", False)
    assert kind == "application/x-subrip"
    assert srt == ("1\n00:00:00,000 --> 00:00:01,250\nHello world.\n\n2\n00:01:01,500 --> 01:02:05,007\nAgain.\n\n")
    vtt, kind = transcripts.render(_transcript(), "vtt", "transcribe", False)
    assert kind == "text/vtt" and vtt.startswith("WEBVTT\n\n")
    cues = re.findall(r"(\d{2}:\d{2}:\d{2}\.\d{3}) --> (\d{2}:\d{2}:\d{2}\.\d{3})\n(.+)\n", vtt)
    assert cues == [
        ("00:00:00.000", "00:00:01.250", "Hello world."),
        ("00:01:01.500", "01:02:05.007", "Again."),
    ]


def test_json_formats() -> None:
    body, _ = transcripts.render(_transcript(), "json", "transcribe", False)
    assert body == {"text": "Hello world. Again.", "usage": {"type": "duration", "seconds": 3726}}
    verbose, _ = transcripts.render(_transcript(), "verbose_json", "translate", True)
    assert verbose["task"] == "translate" and verbose["language"] == "english"
    assert [s["id"] for s in verbose["segments"]] == [0, 1]
    assert verbose["words"] == [
        {"word": "Hello", "start": 0.0, "end": 0.4},
        {"word": "world.", "start": 0.4, "end": 1.2},
    ]
    text, kind = transcripts.render(_transcript(), "text", "transcribe", False)
    assert (text, kind) == ("Hello world. Again.\n", "text/plain")


def test_image_store_expires_and_is_bounded() -> None:
    now = [0.0]
    store = ImageStore(ttl=600, max_images=2, clock=lambda: now[0])
    first = store.put(b"one")
    assert len(first) >= 43  # 32 random bytes, URL-safe base64
    assert store.get(first) == (b"one", 600)
    second, third = store.put(b"two"), store.put(b"three")
    assert store.get(first) is None and len(store) == 2  # oldest pushed out
    now[0] = 600.1
    assert store.get(second) is None and store.get(third) is None and len(store) == 0
    small = ImageStore(max_bytes=5)
    a = small.put(b"1234")
    b = small.put(b"5678")
    assert small.get(a) is None and small.get(b) is not None


def test_image_size_validation() -> None:
    assert media_parse.image_size("256x128") == (256, 128)
    assert media_parse.image_size("auto") == (None, None) and media_parse.image_size(None) == (None, None)
    for bad in ("big", "100x100", "0x64", "64x", "4096x4096", "64x64x64", 512):
        with pytest.raises(BadRequest) as err:
            media_parse.image_size(bad)
        assert err.value.param == "size"


def test_transcription_form_validation() -> None:
    form = Form(fields={"response_format": ["verbose_json"], "timestamp_granularities[]": ["word", "segment"]})
    with pytest.raises(BadRequest, match="'file' is required"):
        media_parse.transcription_call(form, "transcribe")
    form.files["file"] = [Upload("a.wav", b"RIFF")]
    call = media_parse.transcription_call(form, "transcribe")
    assert call.words and call.request.word_timestamps and call.response_format == "verbose_json"
    for field, value in (
        ("response_format", "xml"),
        ("temperature", "3"),
        ("timestamp_granularities[]", "x"),
    ):
        bad = Form(fields={field: [value]}, files=form.files)
        with pytest.raises(BadRequest) as err:
            media_parse.transcription_call(bad, "transcribe")
        assert err.value.param and err.value.param.startswith(field.removesuffix("[]"))


def test_speech_and_transcription_are_defaults() -> None:
    defaults = {e.name: e for e in default_entries()}
    speech, stt = defaults["piper-en-us-joe"], defaults["whisper-tiny-en"]
    assert speech.categories == ("text_to_speech",) and "piper" in speech.name
    assert "GPL-3.0" in speech.license and "GPL-3.0" in speech.card
    assert stt.categories == ("speech_to_text",) and "whisper" in stt.name
    ready, _, hint = stt.readiness()
    if ready:
        assert (stt.resolve_model_path() / "model.bin").exists()
    else:
        assert "install" in hint
