"""Models by name under Ray placement, on a real cluster of two nodes: the head, and node B (custom resource
`models`) whose processes alone see the fake Hub and a model cache of their own. The actor fetches the model on
node B into that cache, reported `downloading NN% (...)` meanwhile, then starts the engine on the path it got;
the gateway has neither the Hub nor the files. A fetch that fails ends `failed` with the reason; stopping an
instance while it downloads stops the download."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from modelport.engines.catalog import find_entry
from modelport.testing.hub import FakeHub
from tests.harness import LiveGateway
from tests.instances_ray.ray_cluster import RayCluster, instances, node_ids_with, wait_state
from tests.sources.conftest import SMOL_REPO

SMOL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PROGRESS = re.compile(r"downloading (\d+)% \([\d,]+/[\d,]+ MB, [\d.,]+ MB/s, ETA [\dminhs ]+\)")
ON_NODE_B = ("--resource", "models=1", "--engine-arg=n_ctx=1024", "--engine-arg=parallel=1")


@pytest.fixture(scope="module")
def hub() -> Iterator[FakeHub]:
    entry = find_entry("smollm2-135m-instruct")
    assert entry is not None
    try:
        gguf = entry.resolve_model_path()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    server = FakeHub()
    server.add_repo(SMOL_REPO, {SMOL_FILE: gguf, "README.md": b"# SmolLM2 GGUF\n"})
    with server:
        yield server


@pytest.fixture(scope="module")
def node_b_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("node-b")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, hub: FakeHub, node_b_home: Path) -> Iterator[RayCluster]:
    ray_cluster = RayCluster(tmp_path_factory.mktemp("ray")).start()
    try:
        ray_cluster.wait_for_nodes(1)
        with pytest.MonkeyPatch.context() as env:  # node B's raylet, and so its workers, have these
            env.setenv("HF_ENDPOINT", hub.url)
            env.setenv("HF_HOME", str(node_b_home / "hf-home"))
            env.setenv("MODELPORT_MODEL_CACHE", str(node_b_home / "cache"))
            env.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
            for name in ("HF_TOKEN", "MODELPORT_CACHE_MIN_FREE_MB"):
                env.delenv(name, raising=False)
            ray_cluster.add_node("b", "--resources", '{"models": 1}')
        ray_cluster.wait_for_nodes(2)
        yield ray_cluster
    finally:
        ray_cluster.stop()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, cluster: RayCluster) -> Iterator[LiveGateway]:
    folder = tmp_path_factory.mktemp("gw")
    with pytest.MonkeyPatch.context() as env:  # a cache of its own, which must stay empty
        env.setenv("MODELPORT_MODEL_CACHE", str(folder / "cache"))
        with LiveGateway(folder / "data", "--placement", "ray", "--ray-address", cluster.address) as live:
            yield live


def test_a_fetch_that_fails_on_the_node_ends_failed_with_the_reason(gateway: LiveGateway) -> None:
    gateway.cli("deploy", "missing", "--model", "hf://nobody/missing-GGUF", *ON_NODE_B, remote=True)
    failed = wait_state(gateway, "missing", "failed", timeout=120)
    assert "fetching hf://nobody/missing-GGUF failed: repository nobody/missing-GGUF not found" in failed["reason"]
    assert failed["node"].split("/")[1] in node_ids_with("models")
    gateway.cli("undeploy", "missing", remote=True)


def test_stopping_an_instance_while_it_downloads_stops_the_download(gateway: LiveGateway, hub: FakeHub) -> None:
    hub.traffic.throttle = 2e6  # 50 s for the whole file: it is stopped long before
    try:
        gateway.cli("deploy", "stopped", "--model", SMOL_REPO, *ON_NODE_B, remote=True)
        wait_state(gateway, "stopped", "downloading", timeout=120, reason="downloading ")
        assert hub.sent(SMOL_REPO, SMOL_FILE) > 0
        gateway.cli("undeploy", "stopped", remote=True)
        deadline = time.monotonic() + 60
        sent, changed_at = hub.sent(SMOL_REPO, SMOL_FILE), time.monotonic()
        while time.monotonic() - changed_at < 3:  # until no byte went out for 3 s
            assert time.monotonic() < deadline, "the download went on after the instance was stopped"
            time.sleep(0.5)
            if (now := hub.sent(SMOL_REPO, SMOL_FILE)) != sent:
                sent, changed_at = now, time.monotonic()
        assert sent < hub.repos[SMOL_REPO].files[SMOL_FILE].size
    finally:
        hub.traffic.throttle = 0


def test_a_model_by_repo_id_is_fetched_on_its_node_into_that_nodes_cache_and_serves(
        gateway: LiveGateway, hub: FakeHub, node_b_home: Path) -> None:
    hub.traffic.throttle = 20e6  # about 5 s for the whole file (less what the test before left)
    started = time.monotonic()
    try:
        gateway.cli("deploy", "smol", "--model", SMOL_REPO, *ON_NODE_B, remote=True)
        states: list[tuple[str, str]] = []
        deadline = time.monotonic() + 240
        while not states or states[-1][0] != "ready":
            assert time.monotonic() < deadline and (not states or states[-1][0] != "failed"), states[-5:]
            states += [(i["state"], i["reason"]) for i in instances(gateway, "smol")]
            time.sleep(0.2)
    finally:
        hub.traffic.throttle = 0
    print(f"fetched on the node and ready in {time.monotonic() - started:.1f} s")
    assert any(state == "downloading" and PROGRESS.search(reason) for state, reason in states), states
    ready = wait_state(gateway, "smol", "ready")
    assert ready["node"].split("/")[1] in node_ids_with("models")
    assert (node_b_home / "cache" / "hf" / SMOL_REPO.replace("/", "--")).exists()
    assert not (gateway.data_dir.parent / "cache").exists()
    client = openai.OpenAI(base_url=gateway.v1, api_key=gateway.admin_key, max_retries=0, timeout=120)
    reply = client.chat.completions.create(model="smol", messages=[{"role": "user", "content": "Say hello."}],
                                           max_tokens=8, temperature=0)
    assert reply.model == "smol" and reply.choices[0].message.content
    gateway.cli("undeploy", "smol", remote=True)
