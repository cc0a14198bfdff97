"""Deploying models by name on a live gateway: by Hub repo id through HF_ENDPOINT and by ollama:// name,
chatting with them through the gateway; progress while the fake Hub throttles; a gateway killed half way
resumes the download; two deploys of one model fetch it once; each failure ends `failed` with its reason."""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from click.testing import CliRunner

from modelport.cli.models import models
from modelport.testing.hub import FakeHub
from modelport.testing.ollama import FakeOllamaRegistry
from tests.harness import LiveGateway
from tests.sources.conftest import GATED_REPO, SMALL, SMOL_REPO, SPLIT_REPO, source_env

PROGRESS = re.compile(r"downloading (\d+)% \([\d,]+/[\d,]+ MB, [\d.,]+ MB/s, ETA [\dminhs ]+\)")
SMOL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMALL_ENGINE = {"n_ctx": "1024", "parallel": "1"}  # four instances run at once here: a small KV cache each


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """These variables for the gateway processes started inside (they inherit this process's)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("HF_TOKEN", "MODELPORT_CACHE_MIN_FREE_MB"):
            patch.delenv(name, raising=False)
        for name, value in values.items():
            patch.setenv(name, value)
        yield


def modelport(*args: str) -> str:
    """The output of `modelport models ARGS`, run here with this process's environment (the gateway's cache)."""
    result = CliRunner().invoke(models, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def instances(live: LiveGateway, name: str) -> list[dict[str, Any]]:
    response = live.api("GET", f"/api/deployments/{name}")
    return response.json()["instances"] if response.status_code == 200 else []  # type: ignore[no-any-return]


def wait_for(live: LiveGateway, name: str, state: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = instances(live, name)
        if found and all(i["state"] == state for i in found):
            return found[0]
        if state != "failed" and any(i["state"] == "failed" for i in found):
            raise AssertionError(f"{name} failed: {found}\n{live.log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"{name} never became {state}: {instances(live, name)}")


def cdn_requests(hub: FakeHub) -> list[tuple[str, str, str]]:
    """The requests for LFS content so far: (method, path, Range)."""
    return [r for r in hub.traffic.requests if r[1].startswith("/_cdn/")]


def deploy(live: LiveGateway, name: str, model: str) -> None:
    """Deploy through the admin API (what `modelport deploy NAME --model MODEL` sends)."""
    response = live.api("POST", "/api/deployments", {"name": name, "engine": "llama.cpp", "model": model,
                                                     "engine_args": SMALL_ENGINE})
    assert response.status_code == 201, response.text


def chat(live: LiveGateway, model: str) -> str:
    client = openai.OpenAI(base_url=live.v1, api_key=live.admin_key, max_retries=0, timeout=120)
    reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Say hello."}],
                                           max_tokens=8, temperature=0)
    assert reply.model == model
    return reply.choices[0].message.content or ""


def test_deploy_by_name_with_progress_kill_resume_and_one_fetch(
        hub: FakeHub, registry: FakeOllamaRegistry, smol_gguf: Path, tmp_path: Path) -> None:
    size = smol_gguf.stat().st_size
    with environment(source_env(hub, registry, tmp_path)):
        live = LiveGateway(tmp_path / "gw").start()
        try:
            sent_before = hub.sent(SMOL_REPO, SMOL_FILE)
            cdn_before = len(cdn_requests(hub))
            hub.traffic.throttle = 12e6  # about 8 s for the whole file
            live.cli("deploy", "smol", "--model", SMOL_REPO, *(f"--engine-arg={a}={v}" for a, v in SMALL_ENGINE.items()),
                     remote=True)
            # (a bare repo id: llama.cpp, the default quantisation)
            deploy(live, "smol-too", f"hf://{SMOL_REPO}")
            deadline = time.monotonic() + 60
            while not (shown := [i for i in instances(live, "smol") + instances(live, "smol-too")
                                 if (m := PROGRESS.search(i["reason"])) and int(m.group(1)) >= 15]):
                assert time.monotonic() < deadline, instances(live, "smol")
                time.sleep(0.2)
            assert shown[0]["state"] == "downloading"
            listed = live.cli("deployments", remote=True).stdout
            assert PROGRESS.search(listed) and " downloading " in listed, listed
            live.stop(signal.SIGKILL)  # half way: the partial file stays in the cache
        finally:
            hub.traffic.throttle = 0
        first = hub.sent(SMOL_REPO, SMOL_FILE) - sent_before
        assert 0 < first < size
        cdn_gets = cdn_requests(hub)[cdn_before:]
        live = LiveGateway(tmp_path / "gw").start()
        try:
            wait_for(live, "smol", "ready", 120)
            wait_for(live, "smol-too", "ready", 120)
            again = hub.sent(SMOL_REPO, SMOL_FILE) - sent_before - first
            assert again < size, (first, again, size)
            resumed = cdn_requests(hub)[cdn_before + len(cdn_gets):]
            assert len(resumed) == 1 and re.fullmatch(r"bytes=[1-9]\d*-", resumed[0][2]), resumed
            assert len(cdn_gets) == 1  # the two deploys fetched it once, before and after the kill
            assert chat(live, "smol")
            assert live.api("DELETE", "/api/deployments/smol-too").status_code in (200, 204)

            deploy(live, "smol-ollama", "ollama://smollm2:135m")
            waited = live.cli("deploy", "smol-split", "--model", f"hf://{SPLIT_REPO}:Q4_1", "--wait",
                              *(f"--engine-arg={a}={v}" for a, v in SMALL_ENGINE.items()), remote=True)
            assert waited.stdout.rstrip().endswith("smol-split is ready"), waited.stdout
            assert chat(live, "smol-split")
            wait_for(live, "smol-ollama", "ready", 120)
            assert chat(live, "smol-ollama")

            cached = modelport("--cached")
            assert f"hf://{SMOL_REPO}" in cached and "ollama://library/smollm2:135m" in cached, cached
            assert live.api("DELETE", "/api/deployments/smol-split").status_code in (200, 204)
            pruned = modelport("--prune", "--server", live.url, "--key", live.admin_key)
            assert f"removed hf://{SPLIT_REPO}:Q4_1" in pruned and "kept 2 model(s) in use" in pruned, pruned
            assert not (tmp_path / "cache" / "hf" / SPLIT_REPO.replace("/", "--")).exists()
            assert (tmp_path / "cache" / "hf" / SMOL_REPO.replace("/", "--")).exists()
        finally:
            live.stop()


@contextlib.contextmanager
def small_disk(folder: Path, megabytes: int) -> Iterator[dict[str, str]]:
    """A filesystem with `megabytes` free for the cache: a real tmpfs where this process may mount one (the
    tests run as root), else the cache's free-space margin set to leave that much."""
    folder.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)],
                             capture_output=True).returncode == 0 if shutil.which("mount") else False
    try:
        if mounted:
            yield {}
        else:
            free = shutil.disk_usage(folder).free
            yield {"MODELPORT_CACHE_MIN_FREE_MB": str((free - megabytes * 1_000_000) / 1e6)}
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=False)


def test_failures_end_failed_with_the_reason(hub: FakeHub, registry: FakeOllamaRegistry, tmp_path: Path) -> None:
    with small_disk(tmp_path / "cache", 40) as margin, environment({**source_env(hub, registry, tmp_path), **margin}):
        with LiveGateway(tmp_path / "gw") as live:
            refused = live.api("POST", "/api/deployments", {"name": "bad", "engine": "llama.cpp",
                                                            "model": "hf://not-a-repo"})
            assert refused.status_code == 400 and "not hf://ORG/REPO" in refused.json()["error"]["message"]
            expected = {
                "missing": ("hf://nobody/missing-GGUF", "repository nobody/missing-GGUF not found"),
                "gated": (f"hf://{GATED_REPO}", "gated repository; set HF_TOKEN"),
                "big": (SMOL_REPO, "not enough disk space"),
                "corrupt": ("ollama://corrupt", "checksum mismatch for model.gguf"),
            }
            for name, (model, _) in expected.items():
                deploy(live, name, model)
            for name, (_, reason) in expected.items():
                failed = wait_for(live, name, "failed", 60)
                assert reason in failed["reason"], failed
            listed = live.cli("deployments", remote=True).stdout
            assert "failed" in listed and "the download needs 98.4 MB" in listed, listed
            cache = tmp_path / "cache"
            assert not any((cache / "partial").iterdir())  # no half-written file is left
            assert not (cache / "blobs" / "sha256" / hashlib.sha256(SMALL).hexdigest()).exists()
