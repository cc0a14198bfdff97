"""Fetching into the cache, in this process, from the fake Hub and registry: what huggingface_hub sees of
the fake, checksums, concurrent fetches of one file, resuming, disk space, gated repos, search."""

from __future__ import annotations

import re
import shutil
import socket
import threading
from dataclasses import replace
from pathlib import Path

import huggingface_hub
import numpy
import pytest
from click.testing import CliRunner

from modelport.cli.models import models
from modelport.cli.progress import status_line
from modelport.engines.catalog import find_entry
from modelport.instances.fetching import needs_fetch
from modelport.instances.launch import plan_launch
from modelport.records import DeploymentSpec
from modelport.sources.cache import Cancelled, Checksum, InsufficientSpace, ModelCache
from modelport.sources.download import ChecksumMismatch, FetchFailed
from modelport.sources.fetch import fetch
from modelport.sources.hf import search
from modelport.sources.progress import Meter, eta_text
from modelport.testing.hub import FakeHub
from modelport.testing.ollama import FakeOllamaRegistry
from tests.sources.conftest import GATED_REPO, HUB_TOKEN, SMALL, SMOL_REPO, SPLIT_REPO

SMOL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _fetch(model: str, cancel: threading.Event | None = None, meter: Meter | None = None) -> Path:
    return fetch(model, ModelCache(), meter or Meter(), cancel or threading.Event())


def test_huggingface_hub_itself_downloads_from_the_fake(hub: FakeHub, sources_env: Path, smol_gguf: Path) -> None:
    info = huggingface_hub.HfApi(endpoint=hub.url).model_info(SPLIT_REPO, files_metadata=True)
    assert info.sha == hub.repos[SPLIT_REPO].commit
    assert all(s.lfs is not None and len(s.lfs.sha256) == 64 for s in info.siblings or [] if s.rfilename.endswith("gguf"))
    path = huggingface_hub.hf_hub_download(SMOL_REPO, "README.md", endpoint=hub.url)
    assert Path(path).read_bytes() == b"# SmolLM2 GGUF\n"
    folder = Path(huggingface_hub.snapshot_download(SPLIT_REPO, endpoint=hub.url))
    assert sorted(p.name for p in (folder / "Q4_1").iterdir()) == sorted(
        n.split("/")[1] for n in hub.repos[SPLIT_REPO].files if n.startswith("Q4_1/"))
    with pytest.raises(huggingface_hub.errors.GatedRepoError):
        huggingface_hub.hf_hub_download(GATED_REPO, "tiny-Q4_K_M.gguf", endpoint=hub.url, token=False)


def test_split_gguf_is_fetched_whole_and_laid_out_for_llama_cpp(hub: FakeHub, sources_env: Path) -> None:
    meter = Meter()
    path = _fetch(f"hf://{SPLIT_REPO}:Q4_1", meter=meter)
    assert path.name.endswith("-00001-of-00002.gguf")
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name.replace("00001-of", "00002-of")]
    assert meter.done == meter.total == sum(p.stat().st_size for p in path.parent.iterdir())
    assert not list((sources_env / "partial").iterdir())


def test_concurrent_fetches_of_one_model_download_it_once(hub: FakeHub, sources_env: Path, smol_gguf: Path) -> None:
    before = hub.sent(SMOL_REPO, SMOL_FILE)
    hub.traffic.throttle = 200e6
    try:
        results: list[Path] = []
        threads = [threading.Thread(target=lambda: results.append(_fetch(SMOL_REPO))) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        hub.traffic.throttle = 0
    assert len(results) == 3 and len(set(results)) == 1
    assert hub.sent(SMOL_REPO, SMOL_FILE) - before == smol_gguf.stat().st_size
    assert results[0].read_bytes() == smol_gguf.read_bytes()
    assert _fetch(f"hf://{SMOL_REPO}") == results[0]  # cached: no more bytes
    assert hub.sent(SMOL_REPO, SMOL_FILE) - before == smol_gguf.stat().st_size


def test_a_stopped_fetch_resumes_where_it_was(hub: FakeHub, sources_env: Path, smol_gguf: Path) -> None:
    size, before = smol_gguf.stat().st_size, hub.sent(SMOL_REPO, SMOL_FILE)
    cancel, meter = threading.Event(), Meter()
    hub.traffic.throttle = 40e6
    stopped: list[BaseException] = []

    def run() -> None:
        try:
            _fetch(SMOL_REPO, cancel, meter)
        except Cancelled as exc:
            stopped.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    while meter.done < size // 3:
        threading.Event().wait(0.05)
    text = meter.describe()
    cancel.set()
    worker.join(30)
    hub.traffic.throttle = 0
    assert stopped and not (sources_env / "blobs").exists()
    assert text.startswith("downloading ") and " MB/s, ETA " in text, text
    first = hub.sent(SMOL_REPO, SMOL_FILE) - before
    assert size // 3 <= first < size
    kept = ModelCache(sources_env)
    (partial,) = (sources_env / "partial").iterdir()
    with kept.lock(Checksum("sha256", partial.name.removeprefix("sha256-")), threading.Event(), lambda: None):
        assert kept.remove_partials() == 0  # a download under way is left alone
    _fetch(SMOL_REPO)
    again = hub.sent(SMOL_REPO, SMOL_FILE) - before - first
    assert again < size and first + again >= size
    assert any(r[2].startswith("bytes=") for r in hub.traffic.requests if r[1].startswith("/_cdn/"))


def test_prune_removes_interrupted_downloads_no_one_continues(sources_env: Path) -> None:
    cache = ModelCache(sources_env)
    (sources_env / "partial").mkdir(parents=True)
    (sources_env / "partial" / f"sha256-{'0' * 64}").write_bytes(b"x" * 1000)
    assert cache.remove_partials() == 1000 and not any((sources_env / "partial").iterdir())


def test_a_corrupted_blob_fails_its_checksum_and_leaves_nothing(registry: FakeOllamaRegistry, sources_env: Path) -> None:
    with pytest.raises(ChecksumMismatch, match=r"checksum mismatch for model\.gguf"):
        _fetch("ollama://corrupt")
    assert not any((sources_env / "partial").iterdir())
    assert not (sources_env / "blobs").exists() or not any((sources_env / "blobs").rglob("*"))
    assert ModelCache(sources_env).records() == []


def test_ollama_model_by_name(registry: FakeOllamaRegistry, sources_env: Path, gguf_variants: dict[str, Path]) -> None:
    path = _fetch("ollama://smollm2:135m")
    assert path.name == "model.gguf" and path.read_bytes() == gguf_variants["rewritten"].read_bytes()
    with pytest.raises(FetchFailed, match="not found in the registry"):
        _fetch("ollama://smollm2:7b")


def test_gated_repo_needs_a_token(hub: FakeHub, sources_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FetchFailed, match="gated repository; set HF_TOKEN"):
        _fetch(f"hf://{GATED_REPO}")
    monkeypatch.setenv("HF_TOKEN", HUB_TOKEN)
    assert _fetch(f"hf://{GATED_REPO}").read_bytes() == SMALL
    assert hub.credentials_at_cdn == 0  # the token went to the Hub only, not where it redirected


def test_an_unreachable_source_falls_back_to_a_complete_cached_copy(
        hub: FakeHub, sources_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _fetch(f"hf://{SPLIT_REPO}:Q4_1")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed.getsockname()[1]}")
        assert _fetch(f"hf://{SPLIT_REPO}:Q4_1") == path
        with pytest.raises(FetchFailed, match="cannot reach"):
            _fetch(f"hf://{SMOL_REPO}")


def test_missing_repo_and_quantisation(hub: FakeHub, sources_env: Path) -> None:
    with pytest.raises(FetchFailed, match="repository nobody/nothing not found"):
        _fetch("hf://nobody/nothing")
    with pytest.raises(FetchFailed, match=r"no Q8_0 GGUF in the repository \(it has: Q4_1\)"):
        _fetch(f"hf://{SMOL_REPO}:Q8_0")


def test_too_little_disk_space_fails_before_downloading(hub: FakeHub, sources_env: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    free = shutil.disk_usage(sources_env.parent).free
    monkeypatch.setenv("MODELPORT_CACHE_MIN_FREE_MB", str((free - 50_000_000) / 1e6))  # leaves 50 MB for it
    before = hub.sent(SMOL_REPO, SMOL_FILE)
    with pytest.raises(InsufficientSpace, match=r"the download needs 98\.4 MB, [\d.]+ MB is free \(keeping"):
        _fetch(SMOL_REPO)
    assert hub.sent(SMOL_REPO, SMOL_FILE) == before


def test_search_lists_repos_with_sizes_quantisations_and_license(hub: FakeHub, sources_env: Path) -> None:
    hits = {hit.repo: hit for hit in search("smollm2")}
    assert set(hits) == {SMOL_REPO, SPLIT_REPO}
    assert hits[SMOL_REPO].quantisations == ("Q4_1",) and hits[SMOL_REPO].license == "apache-2.0"
    assert hits[SMOL_REPO].size == 98_362_432


def test_models_search_cached_and_the_wait_bar(hub: FakeHub, sources_env: Path) -> None:
    found = CliRunner().invoke(models, ["--search", "smollm2"])
    assert found.exit_code == 0, found.output
    assert re.search(rf"{SMOL_REPO}\s+98\.4 MB\s+apache-2\.0\s+Q4_1", found.output), found.output
    assert "no models in the cache" in CliRunner().invoke(models, ["--cached"]).output
    _fetch(f"hf://{SPLIT_REPO}:Q4_1")
    cached = CliRunner().invoke(models, ["--cached"]).output
    assert f"hf://{SPLIT_REPO}:Q4_1" in cached and "98.4 MB" in cached, cached
    line = status_line([{"state": "downloading", "reason": "downloading 40% (40/100 MB, 2.0 MB/s, ETA 30 s)"}])
    assert line == f"[{'#' * 12}{'.' * 18}] 40% (40/100 MB, 2.0 MB/s, ETA 30 s)"


def test_a_whisper_repo_fetches_the_folder_the_engine_loads(hub: FakeHub, sources_env: Path) -> None:
    entry = find_entry("whisper-tiny-en")
    assert entry is not None
    folder = entry.resolve_model_path()
    files: dict[str, Path | bytes] = {p.name: p for p in folder.iterdir() if p.is_file()}
    hub.add_repo("Systran/faster-whisper-tiny.en", {**files, "README.md": b"# tiny.en\n", ".gitattributes": b"*.bin lfs\n"})
    path = _fetch("hf://Systran/faster-whisper-tiny.en")
    assert sorted(p.name for p in path.iterdir()) == sorted(files)
    faster_whisper = pytest.importorskip("faster_whisper")
    model = faster_whisper.WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=1)
    segments, info = model.transcribe(numpy.zeros(16_000, dtype=numpy.float32), language="en")
    assert info.language == "en" and isinstance(list(segments), list)


def test_launching_an_external_engine_passes_the_repo_id_through() -> None:
    spec = DeploymentSpec(name="big", engine="vllm", model="hf://Qwen/Qwen3-8B:ignored")
    plan = plan_launch(spec, 0, 8000, "secret", Path("/tmp"))
    assert plan.argv[:3] == ["vllm", "serve", "Qwen/Qwen3-8B"]
    assert not needs_fetch(spec) and needs_fetch(DeploymentSpec(name="s", engine="llama.cpp", model="a/b"))
    asked = DeploymentSpec(name="big", engine="vllm", model="/cache/hf/Qwen--Qwen3-8B/abc",
                           engine_args={"predownload": "true", "max-model-len": "4096"})
    assert needs_fetch(replace(asked, model="Qwen/Qwen3-8B"))
    argv = plan_launch(asked, 0, 8000, "secret", Path("/tmp")).argv
    assert argv[2] == "/cache/hf/Qwen--Qwen3-8B/abc" and "--predownload" not in argv and "--max-model-len" in argv


def test_progress_text() -> None:
    meter = Meter(1_100_000_000)
    meter.progress(412_000_000)
    assert meter.describe() == "downloading 37% (412/1,100 MB)"
    assert eta_text(28.4) == "28 s" and eta_text(250) == "4 min 10 s" and eta_text(7500) == "2 h 5 min"
