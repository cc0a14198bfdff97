"""The speech, transcription and image engines called directly (no worker): load, run, real-time factor."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from modelport.engines import EngineOptions, create_engine
from modelport.engines.base import EngineUnavailable, InvalidEngineInput
from modelport.engines.catalog import find_entry
from modelport.engines.diffusers_images import DiffusersEngine
from modelport.engines.media import ImageRequest, SpeechRequest, TranscriptionRequest
from modelport.engines.piper_tts import PiperEngine
from modelport.engines.whisper import WhisperEngine
from tests.engines.tiny_diffusion import build_tiny_pipeline, require_images
from tests.worker.media_helpers import GERMAN, espeak_wav, png_size, word_error_rate, words_of

LoadedEngine = TypeVar("LoadedEngine", PiperEngine, WhisperEngine)

SENTENCE = "The quick brown fox jumps over the lazy dog. Then it runs back into the forest."


def _loaded(engine_class: type[LoadedEngine], model: str) -> LoadedEngine:
    """The catalog `model` loaded by `engine_class`; skipped where it is not installed."""
    entry = find_entry(model)
    assert entry is not None
    ready, why, hint = entry.readiness()
    if not ready:
        pytest.skip(f"{model}: {why} ({hint})")
    engine = engine_class(EngineOptions(model=model))
    engine.load()
    return engine


@pytest.fixture(scope="module")
def piper() -> PiperEngine:
    return _loaded(PiperEngine, "piper-en-us-joe")


@pytest.fixture(scope="module")
def whisper() -> WhisperEngine:
    return _loaded(WhisperEngine, "whisper-tiny-en")


def _wav(pcm: bytes, rate: int) -> bytes:
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return buffer.getvalue()


def test_speech_sentence_by_sentence_faster_than_real_time(piper: PiperEngine) -> None:
    started = time.perf_counter()
    chunks = list(piper.speak(SpeechRequest(SENTENCE, "joe"), threading.Event()))
    elapsed = time.perf_counter() - started
    assert len(chunks) == 2  # one per sentence
    seconds = sum(len(c) for c in chunks) / 2 / piper.sample_rate
    assert 3.0 < seconds < 9.0
    assert elapsed / seconds < 1.0, f"real-time factor {elapsed / seconds:.2f}"


def test_voices_and_speed(piper: PiperEngine) -> None:
    assert piper.voices == ("joe",)
    assert piper.resolve_voice("Alloy") == "joe" and piper.resolve_voice("JOE") == "joe"
    assert piper.resolve_voice("bob") is None
    text = "Speed changes how long this takes to say."
    normal = sum(map(len, piper.speak(SpeechRequest(text, "joe"), threading.Event())))
    fast = sum(map(len, piper.speak(SpeechRequest(text, "joe", 2.0), threading.Event())))
    slow = sum(map(len, piper.speak(SpeechRequest(text, "joe", 0.5), threading.Event())))
    # length_scale = 1/speed stretches phonemes, not the voice's fixed edges: about 0.65x and 1.75x here
    assert 0.45 < fast / normal < 0.8 and 1.4 < slow / normal < 2.1


def test_cancel_stops_between_sentences(piper: PiperEngine) -> None:
    cancel = threading.Event()
    chunks = piper.speak(SpeechRequest("One. Two. Three. Four.", "joe"), cancel)
    next(chunks)
    cancel.set()
    assert list(chunks) == []


def test_transcription_round_trip_and_real_time_factor(piper: PiperEngine, whisper: WhisperEngine) -> None:
    pcm = b"".join(piper.speak(SpeechRequest(SENTENCE, "joe"), threading.Event()))
    audio = _wav(pcm, piper.sample_rate)
    started = time.perf_counter()
    result = whisper.transcribe(TranscriptionRequest(audio=audio), threading.Event())
    elapsed = time.perf_counter() - started
    assert word_error_rate(SENTENCE, result.text) <= 0.1, result.text
    assert result.language == "en" and result.segments and result.duration > 3
    assert elapsed / result.duration < 1.0, f"real-time factor {elapsed / result.duration:.2f}"


def test_transcription_rejects_bad_audio_and_languages(whisper: WhisperEngine) -> None:
    for data in (b"", b"\x00\x01 definitely not audio" * 50):
        with pytest.raises(InvalidEngineInput) as err:
            whisper.transcribe(TranscriptionRequest(audio=data), threading.Event())
        assert err.value.param == "file"
    with pytest.raises(InvalidEngineInput, match="English-only"):
        whisper.transcribe(TranscriptionRequest(audio=_wav(b"\0\0" * 16000, 16000), language="de"), threading.Event())


@pytest.fixture(scope="module")
def whisper_base() -> WhisperEngine:
    return _loaded(WhisperEngine, "whisper-base")


def test_multilingual_whisper_detects_transcribes_and_translates(whisper_base: WhisperEngine) -> None:
    german = espeak_wav(GERMAN, "de")
    heard = whisper_base.transcribe(TranscriptionRequest(audio=german), threading.Event())
    assert heard.language == "de" and {"guten", "morgen", "park"} <= set(words_of(heard.text)), heard.text
    told = whisper_base.transcribe(TranscriptionRequest(audio=german, language="de"), threading.Event())
    assert {"guten", "morgen"} <= set(words_of(told.text)), told.text
    english = whisper_base.transcribe(TranscriptionRequest(audio=german, task="translate"), threading.Event())
    assert {"good", "morning", "park"} <= set(words_of(english.text)), english.text
    with pytest.raises(InvalidEngineInput, match="unsupported language"):
        whisper_base.transcribe(TranscriptionRequest(audio=german, language="xx"), threading.Event())


def test_missing_model_says_what_to_install() -> None:
    engine = create_engine("diffusers", EngineOptions(model="/nonexistent/pipeline"))
    with pytest.raises(EngineUnavailable) as err:
        engine.load()
    assert "install-engines --images" in str(err.value) or "/nonexistent/pipeline" in str(err.value)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DiffusersEngine]:
    require_images()
    folder = build_tiny_pipeline(Path(tmp_path_factory.mktemp("tiny-sd")))
    engine = DiffusersEngine(EngineOptions(model=str(folder), extra={"steps": "2"}))
    engine.load()
    yield engine


def _png(size: tuple[int, int], mode: str = "RGB", color: object = (120, 30, 200)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format="PNG")  # type: ignore[arg-type]
    return buffer.getvalue()


def test_generate_edit_and_seed(images: DiffusersEngine) -> None:
    request = ImageRequest(prompt="a red cat", n=2, width=64, height=48, seed=7)
    first = images.generate(request)
    assert [png_size(p) for p in first] == [(64, 48), (64, 48)]
    assert first == images.generate(request)  # same seed, same images
    assert images.default_size == (32, 32)  # tiny UNet 16 x VAE factor 2
    mask = _png((80, 64), "RGBA", (0, 0, 0, 0))
    inpainted = images.edit(ImageRequest(prompt="x", image=_png((80, 64)), mask=mask))
    assert [png_size(p) for p in inpainted] == [(80, 64)]
    img2img = images.edit(ImageRequest(prompt="x", image=_png((80, 64)), width=64, height=64))
    assert [png_size(p) for p in img2img] == [(64, 64)]
    with pytest.raises(InvalidEngineInput) as err:
        images.edit(ImageRequest(prompt="x", image=_png((80, 64)), mask=_png((64, 64), "RGBA")))
    assert err.value.param == "mask" and "80x64" in str(err.value)
    with pytest.raises(InvalidEngineInput):
        images.edit(ImageRequest(prompt="x", image=b"not an image"))
