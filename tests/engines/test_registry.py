"""The engine registry is the one list: names, engine args, the catalog and the classes agree with it."""

from __future__ import annotations

import importlib

import pytest

from modelport.engines import ENGINE_NAMES, EngineOptions, EngineUnavailable, create_engine
from modelport.engines.args import ENGINE_ARGS
from modelport.engines.catalog import load_catalog
from modelport.engines.registry import ENGINES, install_hint


def test_every_registered_engine_has_its_class_and_args() -> None:
    assert set(ENGINE_NAMES) == set(ENGINES) == set(ENGINE_ARGS)
    for spec in ENGINES.values():
        module = importlib.import_module(spec.module)  # engine modules import their libraries lazily
        assert isinstance(getattr(module, spec.class_name), type)


def test_every_catalog_model_names_a_registered_engine() -> None:
    assert {entry.engine for entry in load_catalog()} <= set(ENGINES)


def test_an_unknown_engine_names_the_known_ones() -> None:
    with pytest.raises(EngineUnavailable, match=r"built-in engines: llama\.cpp, onnx-embeddings"):
        create_engine("vllm", EngineOptions(model="x"))


def test_install_hints_name_the_extra_and_the_script() -> None:
    hint = install_hint("faster-whisper")
    assert "faster_whisper" in hint and "modelport[whisper]" in hint and "scripts/install-engines" in hint
