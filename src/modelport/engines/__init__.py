"""Built-in engines: each hosts one model in the worker process. Heavy libraries load lazily.

`create_engine(name, options)` builds an unloaded engine; call `.load()` (slow) before serving.
"""

from __future__ import annotations

from modelport.engines.base import (
    Capability,
    Engine,
    EngineOptions,
    EngineUnavailable,
    GenerationRequest,
    InvalidEngineInput,
)

ENGINE_NAMES = ("llama.cpp", "onnx-embeddings", "e5", "piper", "faster-whisper", "diffusers")

__all__ = [
    "ENGINE_NAMES",
    "Capability",
    "Engine",
    "EngineOptions",
    "EngineUnavailable",
    "GenerationRequest",
    "InvalidEngineInput",
    "create_engine",
]


def create_engine(name: str, options: EngineOptions) -> Engine:
    """An unloaded engine by name; raises `EngineUnavailable` for an unknown name."""
    if name == "llama.cpp":
        from modelport.engines.llamacpp import LlamaCppEngine

        return LlamaCppEngine(options)
    if name == "onnx-embeddings":
        from modelport.engines.onnx_embeddings import OnnxEmbeddingEngine

        return OnnxEmbeddingEngine(options)
    if name == "e5":
        from modelport.engines.e5 import E5Engine

        return E5Engine(options)
    return _create_media_engine(name, options)


def _create_media_engine(name: str, options: EngineOptions) -> Engine:
    """Speech, transcription and image engines (each an optional extra)."""
    if name == "piper":
        from modelport.engines.piper_tts import PiperEngine

        return PiperEngine(options)
    if name == "faster-whisper":
        from modelport.engines.whisper import WhisperEngine

        return WhisperEngine(options)
    if name == "diffusers":
        from modelport.engines.diffusers_images import DiffusersEngine

        return DiffusersEngine(options)
    raise EngineUnavailable(f"unknown engine {name!r}; built-in engines: {', '.join(ENGINE_NAMES)}")
