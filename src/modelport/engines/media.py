"""The contract of the media engines (speech, transcription, images): records and protocols.

Like the text engines, their methods are blocking, run on the worker's engine thread, and take plain,
already-validated records. Media engines serve none of the text capabilities; `TextlessEngine` gives
them the text methods of the `Engine` protocol, each refusing (the worker never calls them, because
the capability is not offered).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from modelport.engines.base import Embeddings, GenerationEvent, GenerationRequest, RerankScores

#: The response formats of OpenAI's /v1/audio/speech, in its documentation's order.
SPEECH_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")

#: The image encodings of OpenAI's `output_format` (the first is the default), with their media types.
IMAGE_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}

#: OpenAI's built-in voice names; a speech engine maps each onto one of its own voices.
OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "onyx",
    "nova",
    "sage",
    "shimmer",
    "verse",
)


@dataclass(frozen=True)
class SpeechRequest:
    """Text to speak with one of the engine's own voices, `speed` times the voice's natural pace."""

    text: str
    voice: str
    speed: float = 1.0


@dataclass(frozen=True)
class TranscriptionRequest:
    """Audio (any container FFmpeg decodes) to text; `task` is "transcribe" or "translate"."""

    audio: bytes
    task: str = "transcribe"
    language: str | None = None
    prompt: str | None = None
    temperature: float | None = None
    word_timestamps: bool = False


@dataclass(frozen=True)
class Word:
    """One word with its time span (seconds) and probability."""

    word: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Segment:
    """One decoded segment, with the fields of OpenAI's verbose_json segments."""

    id: int
    seek: int
    start: float
    end: float
    text: str
    tokens: tuple[int, ...]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Transcript:
    """The whole transcription: text, detected (or given) language, audio duration and segments."""

    text: str
    language: str
    duration: float
    segments: tuple[Segment, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ImageRequest:
    """Generate (no `image`), edit (`image`, optional `mask`), `n` images of width x height, encoded as
    `output_format` (one of `IMAGE_FORMATS`); `output_compression` is the JPEG/WebP quality, 0-100."""

    prompt: str
    n: int = 1
    width: int | None = None
    height: int | None = None
    seed: int | None = None
    image: bytes | None = None
    mask: bytes | None = None
    output_format: str = "png"
    output_compression: int = 100


class SpeechEngine(Protocol):
    """Text to speech: 16-bit mono PCM, one chunk per sentence as soon as it is synthesised."""

    sample_rate: int
    voices: tuple[str, ...]

    def resolve_voice(self, name: str) -> str | None:
        """The engine voice for a requested name (its own names, or OpenAI's), or None if unknown."""

    def speak(self, request: SpeechRequest, cancel: threading.Event) -> Iterator[bytes]:
        """Raw little-endian int16 mono samples at `sample_rate`, sentence by sentence."""

    def count_tokens(self, text: str) -> int:
        """How many input tokens the model reads for `text` (reported as `usage` of streamed speech)."""


class TranscriptionEngine(Protocol):
    """Speech to text."""

    def transcribe(self, request: TranscriptionRequest, cancel: threading.Event) -> Transcript:
        """Decode and transcribe (or translate to English); bad audio raises `InvalidEngineInput`.

        Stops between segments once `cancel` is set (the client went away).
        """

    def transcribe_stream(
        self, request: TranscriptionRequest, cancel: threading.Event
    ) -> Iterator[Segment | Transcript]:
        """The same work yielded as it goes: each `Segment` once decoded, then the whole `Transcript` last."""


class ImageEngine(Protocol):
    """Text to image, image to image and inpainting; images come back encoded as `request.output_format`."""

    def generate(self, request: ImageRequest) -> list[bytes]:
        """`request.n` images for `request.prompt`."""

    def edit(self, request: ImageRequest) -> list[bytes]:
        """Inpaint `request.image` where `request.mask` is transparent, or image-to-image without one."""


class TextlessEngine:
    """The text methods of the `Engine` protocol for engines that offer none of them."""

    max_model_len = 0
    dimensions = 0

    def chat(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[GenerationEvent]:
        """Not offered (see `capabilities`)."""
        raise NotImplementedError

    def complete(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[GenerationEvent]:
        """Not offered (see `capabilities`)."""
        raise NotImplementedError

    def embed(self, texts: Sequence[str], *, normalize: bool = True, input_type: str | None = None) -> Embeddings:
        """Not offered (see `capabilities`)."""
        raise NotImplementedError

    def rerank(self, query: str, documents: Sequence[str]) -> RerankScores:
        """Not offered (see `capabilities`)."""
        raise NotImplementedError

    def tokenize(
        self, prompt: str | None, messages: Sequence[dict[str, Any]] | None, tools: Sequence[dict[str, Any]] = ()
    ) -> list[int]:
        """Not offered (see `capabilities`)."""
        raise NotImplementedError
