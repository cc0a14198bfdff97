"""What the admin API tells of instances under Ray placement, on a real local cluster of three nodes (as in
test_ray_placement, its head serving Ray's state API on loopback): `modelport logs` fetches an instance's
log from its actor on the node that runs it, `modelport nodes` lists Ray's nodes with their resources (total
and available) and the instances on each, and the instance secret shows nowhere in what Ray's state API tells
of the instance's actor, its tasks, objects, workers and the gateway's job."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from modelport.auth.instance_secrets import InstanceSecrets
from tests.harness import LiveGateway
from tests.instances_ray.ray_cluster import RayCluster, three_nodes, wait_state


def dashboard_missing() -> str:
    """Why Ray's dashboard, which serves its state API, cannot run here ('' when it can): it needs the
    packages of `ray[default]`."""
    from ray._private.utils import get_dashboard_dependency_error

    error = get_dashboard_dependency_error()
    return "" if error is None else f"Ray's state API needs ray[default]'s packages: {error}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    with three_nodes(tmp_path_factory.mktemp("ray"), dashboard=not dashboard_missing()) as ray_cluster:
        yield ray_cluster


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, cluster: RayCluster) -> Iterator[LiveGateway]:
    with LiveGateway(tmp_path_factory.mktemp("gw"), "--placement", "ray", "--ray-address", cluster.address) as live:
        yield live


@pytest.fixture(scope="module")
def emb(gateway: LiveGateway) -> Iterator[dict[str, Any]]:
    """The built-in embedding model on a node with `node_b`, ready: its instance as the admin API shows it."""
    gateway.cli("deploy", "emb", "--model", "all-minilm-l6-v2", "--resource", "node_b=1", remote=True)
    yield wait_state(gateway, "emb", "ready", timeout=180)
    gateway.cli("undeploy", "emb", remote=True)


def test_logs_of_an_instance_on_a_ray_node_come_from_its_actor(gateway: LiveGateway, emb: dict[str, Any]) -> None:
    address, port = emb["node"].split("/")[0], urlsplit(emb["url"]).port
    text = gateway.cli("logs", "emb", remote=True).stdout
    assert f"worker listening on http://{address}:{port} (loading emb)" in text, text
    assert "model emb loaded" in text, text
    assert not (gateway.data_dir / "logs" / "emb-0.log").exists()  # none on the gateway's side: the node has it
    last = gateway.cli("logs", "emb", "-n", "1", remote=True).stdout
    assert last.count("\n") == 1 and last.strip() == text.strip().splitlines()[-1]
    missing = gateway.cli("logs", "emb", "--ordinal", "3", remote=True, check=False)
    assert missing.returncode != 0 and "No Ray actor runs `emb` instance 3 now, and no node has its log" \
        in missing.stderr, missing.stderr
    on_the_store = gateway.cli("logs", "emb", check=False)  # no gateway, no Ray: it says where the log is
    assert on_the_store.returncode != 0 and f"runs on node {emb['node']}: its log is there" in on_the_store.stderr


def test_the_log_of_an_engine_that_exited_is_read_on_its_node(gateway: LiveGateway) -> None:
    """An engine that exits leaves no actor while it waits to restart: its log is read on the node."""
    crash = "sh -c 'echo engine-said-goodbye-$$; exit 3'"
    gateway.cli("deploy", "crashy", "--command", crash, "--engine-arg", "restart_backoff=4", remote=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert time.monotonic() < deadline, "no time found without an actor and with the log"
            if _actor_gone("crashy#0"):
                answer = gateway.cli("logs", "crashy", remote=True, check=False)
                if _actor_gone("crashy#0") and "engine-said-goodbye-" in answer.stdout:
                    break  # read while no actor hosted the instance: from the node
            time.sleep(0.5)
        assert answer.returncode == 0, answer
        assert not (gateway.data_dir / "logs" / "crashy-0.log").exists()  # the node has it, not the gateway
    finally:
        gateway.cli("undeploy", "crashy", remote=True)


def _actor_gone(name: str) -> bool:
    import ray

    try:
        ray.get_actor(name, namespace="modelport")
    except ValueError:
        return True
    return False


def test_nodes_are_rays_with_their_resources_and_the_instances_on_each(gateway: LiveGateway,
                                                                       emb: dict[str, Any]) -> None:
    import ray

    alive = {node["NodeID"] for node in ray.nodes() if node["Alive"]}
    deadline = time.monotonic() + 15  # Ray's accounting of what is available follows within a second or so
    while True:
        through_api = gateway.api("GET", "/api/nodes").json()["data"]
        landed = next(node for node in through_api if node["name"] == emb["node"])
        if landed["resources_available"].get("node_b") == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    listing = json.loads(gateway.cli("nodes", "--json", remote=True).stdout)
    for nodes in (through_api, listing):
        assert {node["node_id"] for node in nodes} == alive and len(nodes) == 3
        address = emb["node"].split("/")[0]  # this machine's, for all three
        assert all(node["placement"] == "ray" and node["address"] == address for node in nodes), nodes
        assert all(node["cpus"] == 1 and node["resources_total"]["CPU"] == 1 and node["memory_bytes"] > 0
                   for node in nodes), nodes
        by_name = {node["name"]: node for node in nodes}
        landed = by_name.pop(emb["node"])
        assert [(i["deployment"], i["ordinal"], i["state"]) for i in landed["instances"]] == [("emb", 0, "ready")]
        assert landed["resources_total"]["node_b"] == 1 and landed["resources_available"]["node_b"] == 0, landed
        assert landed["allocated"]["custom"] == {"node_b": 1.0}
        assert all(not node["instances"] for node in by_name.values())
        with_gpu = [node for node in nodes if node["resources_total"].get("GPU")]
        assert len(with_gpu) == 1 and with_gpu[0]["resources_available"]["GPU"] == 1  # node B's, free
        head = [node for node in nodes if "node_b" not in node["resources_total"]]
        assert len(head) == 1 and "GPU" not in head[0]["resources_total"]
        assert not any(name.startswith("node:") for node in nodes for name in node["resources_total"])
    text = gateway.cli("nodes", remote=True).stdout
    landed_line = next(line for line in text.splitlines() if line.startswith(emb["node"]))
    assert "Ray node  CPU 1/1" in landed_line and "node_b 0/1" in landed_line, text
    assert "  emb#0 ready" in text and "asks node_b=1" in text, text


def test_the_instance_secret_shows_nowhere_in_rays_state_api(gateway: LiveGateway, cluster: RayCluster,
                                                            emb: dict[str, Any]) -> None:
    if dashboard_missing():
        pytest.skip(dashboard_missing())
    from ray.util import state

    port = urlsplit(emb["url"]).port
    assert port is not None
    secret = InstanceSecrets.load_or_create(gateway.data_dir / "instance-key").for_instance("emb", 0, port)
    models = emb["url"] + "/models"  # the secret is the instance's: it answers with it, not without
    assert httpx.get(models, headers={"authorization": f"Bearer {secret}"}).status_code == 200
    assert httpx.get(models).status_code == 401
    address = cluster.address  # the state API finds the dashboard that serves it through the GCS
    actors = _state_api(lambda: state.list_actors(address=address, detail=True, limit=10_000))
    (actor,) = [a for a in actors if a["name"] == "emb#0" and a["state"] == "ALIVE"]
    told = {
        "actors": actors,
        "actor": state.get_actor(actor["actor_id"], address=address),
        "tasks": state.list_tasks(address=address, detail=True, limit=10_000),
        "objects": state.list_objects(address=address, detail=True, limit=10_000),
        "workers": state.list_workers(address=address, detail=True, limit=10_000),
        "jobs": state.list_jobs(address=address, detail=True, limit=10_000),
        "runtime_envs": state.list_runtime_envs(address=address, detail=True, limit=10_000),
        "summaries": [state.summarize_tasks(address=address), state.summarize_actors(address=address),
                      state.summarize_objects(address=address)],
        "actor_logs": [state.get_log(address=address, actor_id=actor["actor_id"], suffix=suffix, tail=-1)
                       for suffix in ("out", "err")],
    }
    told["actor_logs"] = ["".join(log) for log in told["actor_logs"]]
    started = [t for t in told["tasks"] if t["func_or_class_name"] == "EngineHost.start"
               and t["actor_id"] == actor["actor_id"]]
    assert started, told["tasks"]  # what the gateway asked of the actor is there, with all Ray shows of it
    everything = json.dumps(told, default=_jsonable)
    assert secret not in everything
    assert secret.encode().hex() not in everything


def _state_api(ask: Any, timeout: float = 60) -> Any:
    """The answer of the state API once the dashboard that serves it is up."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return ask()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _jsonable(value: object) -> object:
    """Ray's state records as their fields, anything else as text (its repr has its fields too)."""
    asdict = getattr(value, "asdict", None)
    return asdict() if callable(asdict) else repr(value)
