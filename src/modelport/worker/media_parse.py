"""Speech, transcription and image requests as engine records; bad input is a `BadRequest` naming the field.

A JSON body is decoded into its wire schema (`protocols.openai_media`), which checks each field; a form's
text fields are converted here. The only engine call is the speech engine's voice lookup (a dictionary
look-up, so an unknown voice is a 400 before any audio is made).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelport.engines.media import (
    IMAGE_FORMATS,
    ImageRequest,
    SpeechEngine,
    SpeechRequest,
    TranscriptionRequest,
)
from modelport.errors import BadRequest
from modelport.protocols.openai_media import (
    MAX_IMAGE_PROMPT,
    MAX_IMAGES,
    CreateImageRequest,
    CreateSpeechRequest,
    Voice,
)
from modelport.protocols.validation import decode_request
from modelport.worker.forms import Form

IMAGE_SIZE_RANGE = (64, 2048)
TRANSCRIPT_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
IMAGE_RESPONSE_FORMATS = ("b64_json", "url")


@dataclass(frozen=True)
class SpeechCall:
    """A validated /v1/audio/speech request."""

    request: SpeechRequest
    response_format: str
    sse: bool = False  # stream_format "sse": `speech.audio.delta` events instead of the raw audio stream


@dataclass(frozen=True)
class TranscriptionCall:
    """A validated transcription or translation request and how to render it."""

    request: TranscriptionRequest
    response_format: str
    words: bool
    stream: bool = False  # answer with `transcript.text.delta` / `transcript.text.done` events


@dataclass(frozen=True)
class ImageCall:
    """A validated image generation or edit request."""

    request: ImageRequest
    response_format: str


def _voice_name(value: str | Voice | None, engine: SpeechEngine) -> str:
    if value is None:
        return engine.voices[0]
    name = value if isinstance(value, str) else value.id
    voice = engine.resolve_voice(name)
    if voice is None:
        known = ", ".join(engine.voices)
        raise BadRequest(
            f"unknown voice {name!r}: this model has {known}, and maps OpenAI's voice names onto them",
            param="voice",
        )
    return voice


def speech_call(raw: bytes, engine: SpeechEngine) -> SpeechCall:
    """Validate a speech body: input, voice, response_format, speed, stream_format."""
    body = decode_request(raw, CreateSpeechRequest)
    if not body.input.strip():
        raise BadRequest("'input' must be a non-empty string", param="input")
    if "\0" in body.input:
        raise BadRequest("'input' must not contain NUL characters", param="input")
    speed = 1.0 if body.speed is None else float(body.speed)
    request = SpeechRequest(text=body.input, voice=_voice_name(body.voice, engine), speed=speed)
    return SpeechCall(request, body.response_format or "mp3", sse=body.stream_format == "sse")


def _float_field(text: str | None, name: str, low: float, high: float) -> float | None:
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise BadRequest(f"'{name}' must be a number between {low} and {high}", param=name)
    return value


def _int_field(text: str | None, name: str, low: int, high: int) -> int | None:
    if text is None or text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"'{name}' must be an integer", param=name) from None
    if not low <= value <= high:
        raise BadRequest(f"'{name}' must be an integer between {low} and {high}", param=name)
    return value


def _bool_field(text: str | None, name: str) -> bool:
    if text is None or text == "":
        return False
    value = text.strip().lower()
    if value not in ("true", "false", "1", "0"):
        raise BadRequest(f"'{name}' must be true or false", param=name)
    return value in ("true", "1")


def transcription_call(form: Form, task: str) -> TranscriptionCall:
    """Validate a transcription/translation form: file, language, prompt, temperature, formats."""
    upload = form.file("file")
    if upload is None:
        raise BadRequest("'file' is required: the audio file, as a multipart file field", param="file")
    fmt = form.text("response_format") or "json"
    if fmt not in TRANSCRIPT_FORMATS:
        raise BadRequest(f"'response_format' must be one of {', '.join(TRANSCRIPT_FORMATS)}", param="response_format")
    granularities = form.texts("timestamp_granularities[]", "timestamp_granularities")
    if any(g not in ("word", "segment") for g in granularities):
        raise BadRequest("'timestamp_granularities' items must be 'word' or 'segment'", param="timestamp_granularities")
    words = "word" in granularities and fmt == "verbose_json"
    stream = _bool_field(form.text("stream"), "stream")
    if stream and fmt not in ("json", "text"):
        raise BadRequest(
            "with stream=true the answer is transcript.text events: 'response_format' must be json or text",
            param="response_format",
        )
    request = TranscriptionRequest(
        audio=upload.data,
        task=task,
        language=(form.text("language") or None) if task == "transcribe" else None,
        prompt=form.text("prompt") or None,
        temperature=_float_field(form.text("temperature"), "temperature", 0.0, 1.0),
        word_timestamps=words,
    )
    return TranscriptionCall(request, fmt, words, stream)


def image_size(value: Any) -> tuple[int | None, int | None]:
    """(width, height) from OpenAI's `size`: "WxH" (multiples of 8 in range) or "auto"/absent."""
    if value is None or value == "auto":
        return None, None
    low, high = IMAGE_SIZE_RANGE
    width, sep, height = value.lower().partition("x") if isinstance(value, str) else ("", "", "")
    if sep and width.isdigit() and height.isdigit():
        w, h = int(width), int(height)
        if low <= w <= high and low <= h <= high and w % 8 == 0 and h % 8 == 0:
            return w, h
    raise BadRequest(
        f"'size' must be 'auto' or WIDTHxHEIGHT, each a multiple of 8 from {low} to {high} (e.g. 512x512)",
        param="size",
    )


def _prompt(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("'prompt' must be a non-empty string", param="prompt")
    if len(value) > MAX_IMAGE_PROMPT:
        raise BadRequest(f"'prompt' is longer than {MAX_IMAGE_PROMPT} characters", param="prompt")
    return value


def _image_format(value: Any) -> str:
    fmt = value or "b64_json"
    if fmt not in IMAGE_RESPONSE_FORMATS:
        raise BadRequest("'response_format' must be 'b64_json' or 'url'", param="response_format")
    return str(fmt)


def _output_format(value: Any) -> str:
    """OpenAI's `output_format`: png (the default), jpeg or webp."""
    fmt = "png" if value is None else value
    if not isinstance(fmt, str) or fmt not in IMAGE_FORMATS:
        raise BadRequest(f"'output_format' must be one of {', '.join(IMAGE_FORMATS)}", param="output_format")
    return fmt


def _output_compression(value: Any) -> int:
    """OpenAI's `output_compression`: the JPEG/WebP quality, an integer 0-100 (default 100; png ignores it)."""
    if value is None:
        return 100
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise BadRequest("'output_compression' must be an integer between 0 and 100", param="output_compression")
    return value


def image_generation_call(raw: bytes) -> ImageCall:
    """Validate a /v1/images/generations JSON body."""
    body = decode_request(raw, CreateImageRequest)
    width, height = image_size(body.size)
    request = ImageRequest(
        prompt=_prompt(body.prompt),
        n=body.n or 1,
        width=width,
        height=height,
        seed=body.seed,
        output_format=body.output_format or "png",
        output_compression=100 if body.output_compression is None else body.output_compression,
    )
    return ImageCall(request, body.response_format or "b64_json")


def image_edit_call(form: Form) -> ImageCall:
    """Validate a /v1/images/edits form: image (required), mask (optional), prompt, n, size, seed,
    output_format, output_compression."""
    image = form.file("image", "image[]")
    if image is None:
        raise BadRequest("'image' is required: the image to edit, as a multipart file field", param="image")
    mask = form.file("mask")
    width, height = image_size(form.text("size"))
    compression = _int_field(form.text("output_compression"), "output_compression", 0, 100)
    request = ImageRequest(
        prompt=_prompt(form.text("prompt")),
        n=_int_field(form.text("n"), "n", 1, MAX_IMAGES) or 1,
        width=width,
        height=height,
        seed=_int_field(form.text("seed"), "seed", 0, 2**31 - 1),
        image=image.data,
        mask=mask.data if mask is not None else None,
        output_format=_output_format(form.text("output_format") or None),
        output_compression=_output_compression(compression),
    )
    return ImageCall(request, _image_format(form.text("response_format")))
