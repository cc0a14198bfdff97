"""Fixtures for model sources: a fake Hub and a fake Ollama registry serving the SmolLM2 GGUF the built-in
chat model comes from (whole, split in two, and rewritten so its bytes differ), and a cache per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.engines.catalog import find_entry
from modelport.testing.hub import FakeHub
from modelport.testing.ollama import FakeOllamaRegistry
from tests.sources.gguf_split import split_gguf

SMOL_REPO = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"
SPLIT_REPO = "test-org/SmolLM2-135M-split-GGUF"
GATED_REPO = "test-org/gated-GGUF"
SMALL = os.urandom(2_000_000)  # a small "GGUF" for failures that happen before any engine loads it
HUB_TOKEN = "hf_test_token_granted"


@pytest.fixture(scope="session")
def smol_gguf() -> Path:
    entry = find_entry("smollm2-135m-instruct")
    assert entry is not None
    try:
        return entry.resolve_model_path()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def gguf_variants(smol_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The SmolLM2 GGUF split in two, and as one file rewritten by the same writer (other bytes, same model)."""
    folder = tmp_path_factory.mktemp("gguf")
    first, second = split_gguf(smol_gguf, folder, parts=2)
    (whole,) = split_gguf(smol_gguf, _mk(folder / "one"), parts=1)
    return {"split-1": first, "split-2": second, "rewritten": whole}


def _mk(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def hub(smol_gguf: Path, gguf_variants: dict[str, Path]) -> Iterator[FakeHub]:
    server = FakeHub(token=HUB_TOKEN)
    server.add_repo(SMOL_REPO, {"SmolLM2-135M-Instruct.Q4_1.gguf": smol_gguf, "README.md": b"# SmolLM2 GGUF\n"})
    server.add_repo(SPLIT_REPO, {
        f"Q4_1/{gguf_variants['split-1'].name}": gguf_variants["split-1"],
        f"Q4_1/{gguf_variants['split-2'].name}": gguf_variants["split-2"],
        "config.json": b"{}",
    })
    server.add_repo(GATED_REPO, {"tiny-Q4_K_M.gguf": SMALL}, gated=True, license="other")
    with server:
        yield server


@pytest.fixture(scope="session")
def registry(gguf_variants: dict[str, Path]) -> Iterator[FakeOllamaRegistry]:
    server = FakeOllamaRegistry()
    server.add_model("smollm2", gguf_variants["rewritten"], tag="135m")
    server.add_model("corrupt", SMALL).corrupt = True
    with server:
        yield server


@pytest.fixture
def sources_env(hub: FakeHub, registry: FakeOllamaRegistry, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fakes as this process's sources, no token, and a cache of this test's own; the cache root."""
    for name, value in source_env(hub, registry, tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("MODELPORT_CACHE_MIN_FREE_MB", raising=False)
    return tmp_path / "cache"


def source_env(hub: FakeHub, registry: FakeOllamaRegistry, folder: Path) -> dict[str, str]:
    """The environment that points modelport (and huggingface_hub) at the fakes, with a cache in `folder`."""
    return {"HF_ENDPOINT": hub.url, "HF_HOME": str(folder / "hf-home"), "MODELPORT_OLLAMA_REGISTRY": registry.url,
            "MODELPORT_MODEL_CACHE": str(folder / "cache"), "HF_HUB_DISABLE_TELEMETRY": "1"}
