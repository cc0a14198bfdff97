"""POST /v1/audio/speech (a real sine-wave WAV) and /v1/audio/transcriptions, /v1/audio/translations.

Only ``wav`` and ``pcm`` speech is real audio. For ``mp3``, ``opus``, ``aac`` and ``flac`` the fake sends the
same WAV bytes labelled with that format's media type: enough to test relaying, not to decode.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from typing import Any

from aiohttp import web

from modelport.testing.forms import FormField, read_form
from modelport.testing.streams import ChunkWriter
from modelport.testing.wire import Call, FakeHTTPError, json_response

SAMPLE_RATE = 24_000
TONE_PERIOD = 60  # samples: a 400 Hz tone at 24 kHz
MS_PER_CHARACTER = 60
AUDIO_CHUNKS = 8
MEDIA_TYPES = {"mp3": "audio/mpeg", "opus": "audio/opus", "aac": "audio/aac", "flac": "audio/flac",
               "wav": "audio/wav", "pcm": "audio/pcm"}


def sine_pcm(seconds: float) -> bytes:
    """Mono 16-bit little-endian PCM of a 400 Hz tone lasting ``seconds``."""
    period = struct.pack(f"<{TONE_PERIOD}h", *(int(12000 * math.sin(2 * math.pi * i / TONE_PERIOD))
                                               for i in range(TONE_PERIOD)))
    samples = max(1, round(seconds * SAMPLE_RATE))
    return (period * (samples // TONE_PERIOD + 1))[:samples * 2]


def wav_bytes(pcm: bytes) -> bytes:
    """``pcm`` (mono, 16-bit, 24 kHz) wrapped in a canonical 44-byte WAV header."""
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16, 1, 1,
                         SAMPLE_RATE, SAMPLE_RATE * 2, 2, 16, b"data", len(pcm))
    return header + pcm


def _speech_request(data: dict[str, Any]) -> tuple[str, str, float]:
    text, fmt, speed = data.get("input"), data.get("response_format"), data.get("speed", 1.0)
    fmt = "mp3" if fmt is None else fmt
    if not isinstance(text, str) or not text:
        raise FakeHTTPError(400, "input is required", param="input")
    if not isinstance(fmt, str) or fmt not in MEDIA_TYPES:
        raise FakeHTTPError(400, f"response_format must be one of {sorted(MEDIA_TYPES)}", param="response_format")
    if not isinstance(speed, (int, float)) or not 0.25 <= speed <= 4.0:
        raise FakeHTTPError(400, "speed must be between 0.25 and 4.0", param="speed")
    return text, fmt, float(speed)


async def speech(request: web.Request, call: Call) -> web.StreamResponse:
    """Answer a speech request: 60 ms of tone per input character (divided by ``speed``), streamed."""
    data = call.json()
    call.model(data)
    text, fmt, speed = _speech_request(data)
    pcm = sine_pcm(len(text) * MS_PER_CHARACTER / 1000 / speed)
    audio = pcm if fmt == "pcm" else wav_bytes(pcm)
    writer = await ChunkWriter(request, call.controls, MEDIA_TYPES[fmt]).open()
    pieces = call.controls.chunks or AUDIO_CHUNKS
    size = len(audio)
    for i in range(pieces):
        await writer.send(audio[i * size // pieces:(i + 1) * size // pieces])
    return await writer.finish()


def _duration(audio: bytes) -> float:
    try:
        with wave.open(io.BytesIO(audio)) as reader:
            return float(reader.getnframes() / reader.getframerate())
    except (wave.Error, EOFError, ZeroDivisionError):
        return round(len(audio) / 32_000, 3)


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"


def _render(fmt: str, text: str, duration: float, task: str, language: str) -> web.Response:
    end = max(duration, 0.001)
    if fmt == "text":
        return web.Response(text=text + "\n", content_type="text/plain")
    if fmt == "srt":
        body = f"1\n{_timestamp(0, ',')} --> {_timestamp(end, ',')}\n{text}\n\n"
        return web.Response(text=body, content_type="application/x-subrip")
    if fmt == "vtt":
        body = f"WEBVTT\n\n{_timestamp(0, '.')} --> {_timestamp(end, '.')}\n{text}\n\n"
        return web.Response(text=body, content_type="text/vtt")
    if fmt == "verbose_json":
        segment = {"id": 0, "seek": 0, "start": 0.0, "end": end, "text": text, "tokens": [1, 2, 3],
                   "temperature": 0.0, "avg_logprob": -0.1, "compression_ratio": 1.0, "no_speech_prob": 0.0}
        return json_response({"task": task, "language": language, "duration": duration, "text": text,
                              "segments": [segment]})
    return json_response({"text": text})


def _field(fields: dict[str, FormField], name: str, default: str) -> str:
    return fields[name].text if name in fields else default


async def _audio_to_text(request: web.Request, call: Call, task: str) -> web.StreamResponse:
    fields = await read_form(request.headers, call.body)
    upload = fields.get("file")
    if upload is None or (upload.filename is None and not upload.data):
        raise FakeHTTPError(400, "a file is required", param="file")
    call.model({"model": fields["model"].text} if "model" in fields else {})
    fmt = _field(fields, "response_format", "json")
    if fmt not in ("json", "text", "srt", "vtt", "verbose_json"):
        raise FakeHTTPError(400, f"unsupported response_format {fmt!r}", param="response_format")
    language = "english" if task == "translate" else _field(fields, "language", "english")
    text = f"fake transcription of {len(upload.data)} bytes"
    return _render(fmt, text, _duration(upload.data), task, language)


async def transcriptions(request: web.Request, call: Call) -> web.StreamResponse:
    """Answer a transcription request: ``"fake transcription of N bytes"`` in the asked format."""
    return await _audio_to_text(request, call, "transcribe")


async def translations(request: web.Request, call: Call) -> web.StreamResponse:
    """Answer a translation request like a transcription (task ``translate``, language english)."""
    return await _audio_to_text(request, call, "translate")
