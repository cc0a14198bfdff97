"""The llama.cpp weights type: the GGUF as shipped, or a copy converted once into the cache."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from modelport.engines import EngineOptions, create_engine
from modelport.engines.args import parse_engine_args
from modelport.engines.base import TextDelta
from modelport.engines.catalog import engine_args_of, find_entry, load_catalog
from modelport.engines.llamacpp_weights import converted_path, weights_path
from modelport.errors import BadRequest
from tests.worker.live import LiveWorker, require_ready

MODEL = "smollm2-135m-instruct"


def _file_type(path: Path) -> str:
    """The file type llama.cpp reads from a GGUF, e.g. "Q8_0" (the last word of its model description)."""
    import llama_cpp
    from llama_cpp._internals import LlamaModel

    params = llama_cpp.llama_model_default_params()
    return str(LlamaModel(path_model=str(path), params=params, verbose=False).desc()).split()[-1]


def _shipped() -> Path:
    require_ready(MODEL)
    entry = find_entry(MODEL)
    assert entry is not None
    return entry.resolve_model_path()


def test_the_default_chat_model_runs_as_q8_0_unless_a_deployment_says_otherwise() -> None:
    assert engine_args_of(MODEL, {})["weights_type"] == "q8_0"
    assert engine_args_of(MODEL, {"weights_type": "file", "n_ctx": "1024"}) == {"weights_type": "file", "n_ctx": "1024"}
    assert engine_args_of("/some/model.gguf", {}) == {}  # a path has no catalog defaults
    assert parse_engine_args("llama.cpp", {})["weights_type"] == "file"


def test_every_catalog_entrys_default_engine_args_are_ones_its_engine_takes() -> None:
    entries = [entry for entry in load_catalog() if entry.engine_args]
    assert entries
    for entry in entries:
        parse_engine_args(entry.engine, entry.engine_args)


def test_a_worker_started_by_catalog_name_runs_the_catalog_default(tmp_path: Path) -> None:
    """The default reaches a worker process (the worker lays it under the deployment's own args)."""
    require_ready(MODEL)
    cache = tmp_path / "cache"
    worker = LiveWorker("llama.cpp", MODEL, tmp_path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODELPORT_CACHE_DIR", str(cache))
        worker.start()
    try:
        assert [p.name.endswith(".q8_0.gguf") for p in (cache / "gguf").iterdir()] == [True]
    finally:
        worker.stop()


def test_an_unknown_weights_type_is_refused_naming_the_choices() -> None:
    with pytest.raises(BadRequest, match=r"weights_type=q2_k.*expected one of file, q8_0, f16"):
        parse_engine_args("llama.cpp", {"weights_type": "q2_k"})


def test_a_conversion_is_made_once_and_redone_when_the_source_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPORT_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "model.gguf"
    shutil.copyfile(_shipped(), source)
    assert weights_path(source, "file") == source

    converted = weights_path(source, "q8_0")
    assert converted == converted_path(source, "q8_0") and converted.parent == tmp_path / "cache" / "gguf"
    assert (_file_type(source), _file_type(converted)) == ("Q4_1", "Q8_0")
    made = converted.stat().st_mtime_ns
    assert weights_path(source, "q8_0") == converted and converted.stat().st_mtime_ns == made  # reused
    assert not [p for p in converted.parent.iterdir() if p.name.endswith(".partial")]

    os.utime(source, ns=(made + 10**9, made + 10**9))  # a new file in its place
    again = weights_path(source, "q8_0")
    assert again != converted and again.is_file()


def test_the_converted_model_generates_the_same_text_alone_and_among_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelport.engines.base import GenerationRequest

    monkeypatch.setenv("MODELPORT_CACHE_DIR", str(tmp_path / "cache"))
    require_ready(MODEL)
    engine = create_engine("llama.cpp", EngineOptions(MODEL, extra=engine_args_of(MODEL, {"parallel": "4"})))
    engine.load()
    try:
        assert next(p.name for p in (tmp_path / "cache" / "gguf").iterdir()).endswith(".q8_0.gguf")

        def text(n: int) -> str:
            request = GenerationRequest(
                messages=({"role": "user", "content": f"Name a colour, number {n}."},), max_tokens=16, temperature=0
            )
            return "".join(e.text for e in engine.chat(request, threading.Event()) if isinstance(e, TextDelta))

        alone = [text(n) for n in range(4)]
        together: list[str] = [""] * 4

        def run(n: int) -> None:
            together[n] = text(n)

        threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert together == alone and all(alone)
    finally:
        engine.close()
