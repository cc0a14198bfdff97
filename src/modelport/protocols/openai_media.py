"""The JSON media bodies a worker accepts, as msgspec Structs: OpenAI's `/v1/audio/speech` and
`/v1/images/generations` (the multipart ones, transcriptions and image edits, are forms: `worker/forms.py`).

`null` is the same as absent; unknown fields are ignored. What a schema can't say (a voice the model has, a
prompt that is not only spaces, an image `size` its pipeline can make) the worker checks
(`worker/media_parse.py`).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

MAX_SPEECH_INPUT = 4096
MAX_IMAGE_PROMPT = 32000
MAX_IMAGES = 10

SpeechFormat = Literal["mp3", "opus", "aac", "flac", "wav", "pcm"]
ImageFormat = Literal["png", "jpeg", "webp"]


class Voice(msgspec.Struct):
    """A voice given as `{"id": ...}` (OpenAI's custom-voice form)."""

    id: str


class CreateSpeechRequest(msgspec.Struct, kw_only=True):
    """Body of `POST /v1/audio/speech`."""

    input: Annotated[str, msgspec.Meta(max_length=MAX_SPEECH_INPUT)]
    model: str | None = None
    voice: str | Voice | None = None
    instructions: str | None = None
    response_format: SpeechFormat | None = None
    speed: Annotated[float, msgspec.Meta(ge=0.25, le=4.0)] | None = None
    stream_format: Literal["audio", "sse"] | None = None


class CreateImageRequest(msgspec.Struct, kw_only=True):
    """Body of `POST /v1/images/generations`."""

    prompt: Annotated[str, msgspec.Meta(max_length=MAX_IMAGE_PROMPT)]
    model: str | None = None
    n: Annotated[int, msgspec.Meta(ge=1, le=MAX_IMAGES)] | None = None
    size: str | None = None
    response_format: Literal["b64_json", "url"] | None = None
    output_format: ImageFormat | None = None
    output_compression: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None
    seed: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] | None = None
    user: str | None = None
