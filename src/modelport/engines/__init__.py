"""Built-in engines: each hosts one model in the worker process. Heavy libraries load lazily.

`create_engine(name, options)` builds an unloaded engine; call `.load()` (slow) before serving. The engines
themselves are listed once, in `engines.registry`.
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
from modelport.engines.registry import ENGINE_NAMES, create_engine

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
