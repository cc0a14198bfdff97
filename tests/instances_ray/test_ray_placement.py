"""Ray placement on a real local cluster of three nodes (a head without GPUs, node B with one GPU and the
custom resource `node_b`, node C with `node_b` only): instances land where their resources are, serve
through the gateway, are pending with the reason when no node has enough, and move when their node goes."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from modelport.instances.local import STOP_GRACE_SECONDS
from tests.harness import LiveGateway
from tests.instances_ray.ray_cluster import RayCluster, node_ids_with, three_nodes, wait_state

COMMAND = f"{sys.executable} -m modelport.testing --host 127.0.0.1 --port {{port}} --model {{name}} --api-key {{secret}}"
CHAT = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    with three_nodes(tmp_path_factory.mktemp("ray")) as ray_cluster:
        yield ray_cluster


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, cluster: RayCluster) -> Iterator[LiveGateway]:
    with LiveGateway(tmp_path_factory.mktemp("gw"), "--placement", "ray", "--ray-address", cluster.address) as live:
        yield live


def test_instances_land_on_the_node_that_has_their_resources_and_serve(gateway: LiveGateway) -> None:
    started = time.monotonic()
    gateway.cli("deploy", "on-gpu", "--command", COMMAND, "--gpus", "1", "--health-path", "/models", remote=True)
    ready = wait_state(gateway, "on-gpu", "ready")
    print(f"placed and ready on Ray in {time.monotonic() - started:.1f} s")
    assert ready["node"].split("/")[1] in node_ids_with("GPU")  # node B, the only one with a GPU
    assert ready["gpus"] == ["0"] and ready["url"].startswith(f"http://{ready['node'].split('/')[0]}:")  # the node's
    client = openai.OpenAI(base_url=gateway.v1, api_key=gateway.admin_key, max_retries=0)
    assert client.chat.completions.create(model="on-gpu", messages=CHAT).choices[0].message.content == "Echo: hi"
    gateway.cli("undeploy", "on-gpu", remote=True)


def test_an_engine_that_exits_before_it_is_healthy_is_started_again(gateway: LiveGateway, tmp_path: Path) -> None:
    # Its first start exits at once; the second runs. The actor of the first must end, or the next one can
    # never take the instance's name (a CI run stayed `restarting` until the test gave up)
    marker = tmp_path / "started-once"
    flaky = f"sh -c 'if test -e {marker}; then exec \"$0\" \"$@\"; fi; touch {marker}; exit 3' " + COMMAND
    gateway.cli("deploy", "flaky", "--command", flaky, "--health-path", "/models", remote=True)
    wait_state(gateway, "flaky", "ready")
    assert marker.exists()
    client = openai.OpenAI(base_url=gateway.v1, api_key=gateway.admin_key, max_retries=0)
    assert client.chat.completions.create(model="flaky", messages=CHAT).choices[0].message.content == "Echo: hi"
    gateway.cli("undeploy", "flaky", remote=True)


def test_more_gpus_than_any_node_has_stay_pending_with_the_reason(gateway: LiveGateway) -> None:
    gateway.cli("deploy", "too-big", "--command", COMMAND, "--gpus", "2", remote=True)
    pending = wait_state(gateway, "too-big", "pending", timeout=60, reason="no node of the Ray cluster")
    assert "has 2 GPUs (the most any has: GPU 1)" in pending["reason"], pending
    asked = time.monotonic()
    gateway.cli("undeploy", "too-big", remote=True)
    # An actor Ray never placed runs no engine: it is ended at once, not asked to stop one for the whole
    # grace (the undeploy took 25 s when it was)
    assert time.monotonic() - asked < STOP_GRACE_SECONDS


def test_an_instance_moves_when_its_node_is_removed(gateway: LiveGateway, cluster: RayCluster) -> None:
    gateway.cli("deploy", "movable", "--command", COMMAND, "--resource", "node_b=1", "--health-path", "/models",
                remote=True)
    first = wait_state(gateway, "movable", "ready")
    with_b = node_ids_with("node_b")
    assert first["node"].split("/")[1] in with_b
    gpu_node = next(iter(node_ids_with("GPU")))
    doomed = "b" if first["node"].split("/")[1] == gpu_node else "c"
    removed_at = time.monotonic()
    cluster.remove(doomed)
    moved = wait_state(gateway, "movable", "ready", timeout=180)
    print(f"moved to another node {time.monotonic() - removed_at:.1f} s after its node was removed")
    assert moved["node"] != first["node"] and moved["node"].split("/")[1] in with_b
    client = openai.OpenAI(base_url=gateway.v1, api_key=gateway.admin_key, max_retries=0)
    assert client.chat.completions.create(model="movable", messages=CHAT).choices[0].message.content == "Echo: hi"
    gateway.cli("undeploy", "movable", remote=True)


def test_the_next_supervisor_adopts_the_ray_actors_of_a_killed_one(cluster: RayCluster, tmp_path: Path,
                                                                   postgres_url: str) -> None:
    args = ("--placement", "ray", "--ray-address", cluster.address)
    first = LiveGateway(tmp_path / "a", *args, database_url=postgres_url).start()
    second = LiveGateway(tmp_path / "b", *args, database_url=postgres_url)
    try:
        second.start()
        (second.data_dir / "admin-key").write_text(first.admin_key)
        first.cli("deploy", "kept", "--command", COMMAND, "--health-path", "/models", remote=True)
        before = wait_state(first, "kept", "ready")
        assert first.process is not None
        killed_at = time.monotonic()
        first.stop(signal.SIGKILL)
        after = wait_state(second, "kept", "ready", timeout=30, reason="adopted")
        print(f"Ray actor adopted {time.monotonic() - killed_at:.1f} s after the leader was SIGKILLed")
        assert (after["pid"], after["url"], after["node"]) == (before["pid"], before["url"], before["node"])
        client = openai.OpenAI(base_url=second.v1, api_key=first.admin_key, max_retries=0)
        assert client.chat.completions.create(model="kept", messages=CHAT).choices[0].message.content == "Echo: hi"
        second.cli("undeploy", "kept", remote=True)
    finally:
        second.stop()
        if first.process is not None and first.process.poll() is None:
            first.stop()


def test_a_built_in_model_runs_on_the_node_with_its_resource(gateway: LiveGateway) -> None:
    gateway.cli("deploy", "emb", "--model", "all-minilm-l6-v2", "--resource", "node_b=1", remote=True)
    ready = wait_state(gateway, "emb", "ready", timeout=180)
    assert ready["node"].split("/")[1] in node_ids_with("node_b")
    client = openai.OpenAI(base_url=gateway.v1, api_key=gateway.admin_key, max_retries=0)
    vectors = client.embeddings.create(model="emb", input=["a node of its own"]).data
    assert len(vectors) == 1 and len(vectors[0].embedding) == 384
    gateway.cli("undeploy", "emb", remote=True)
