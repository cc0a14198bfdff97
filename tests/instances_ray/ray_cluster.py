"""A real Ray cluster of several nodes on this machine, for tests: each node a `ray start --block` process
group of its own, so that one node can be removed (its group killed) while the others run on."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.harness import LiveGateway, free_port

RAY = str(Path(sys.executable).with_name("ray"))
SMALL = ["--num-cpus", "1", "--object-store-memory", str(100 * 1024 * 1024), "--disable-usage-stats"]


class RayCluster:
    """`start()` the head, `add_node(...)` more; `remove(node)` kills one; `stop()` them all."""

    def __init__(self, temp_dir: Path, dashboard: bool = False) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._temp_dir = temp_dir
        self.nodes: dict[str, subprocess.Popen[bytes]] = {}
        # The dashboard serves Ray's state API (list_actors, list_tasks...), on loopback only
        self.dashboard_port = free_port() if dashboard else None

    def _start(self, name: str, args: list[str]) -> None:
        log = open(self._temp_dir / f"{name}.log", "ab")
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        # Every node's dashboard agent on a port of its own: they share this machine (the log API asks them)
        agent = ["--dashboard-agent-listen-port", str(free_port())]
        self.nodes[name] = subprocess.Popen([RAY, "start", "--block", *SMALL, *agent, *args], stdout=log,
                                            stderr=log, env=env, start_new_session=True)

    def start(self) -> RayCluster:
        self._temp_dir.mkdir(parents=True, exist_ok=True)
        dashboard = ["--include-dashboard", "false"] if self.dashboard_port is None else [
            "--include-dashboard", "true", "--dashboard-host", "127.0.0.1",
            "--dashboard-port", str(self.dashboard_port)]
        self._start("head", ["--head", "--port", str(self.port), "--node-ip-address", "127.0.0.1", *dashboard,
                             "--temp-dir", str(self._temp_dir / "ray")])
        return self

    def add_node(self, name: str, *args: str) -> None:
        self._start(name, ["--address", self.address, "--node-ip-address", "127.0.0.1", *args])

    def wait_for_nodes(self, count: int, timeout: float = 120) -> list[dict[str, object]]:
        """The alive nodes (ray.nodes()) once there are `count`."""
        import ray

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not ray.is_initialized():
                try:
                    ray.init(address=self.address, log_to_driver=False, namespace="tests")
                except ConnectionError:
                    time.sleep(1)
                    continue
            alive = [n for n in ray.nodes() if n["Alive"]]
            if len(alive) >= count:
                return alive
            time.sleep(0.5)
        raise AssertionError(f"the Ray cluster never had {count} nodes: {self._temp_dir}")

    def remove(self, name: str) -> None:
        _end([self.nodes.pop(name)], grace=30)

    def stop(self) -> None:
        """End every node at once. A test's cluster has nothing to keep: `ray start --block` takes up to 30 s
        to stop its processes on SIGTERM (dashboard and agents), so what is left after a short grace is
        killed."""
        import ray

        if ray.is_initialized():
            ray.shutdown()
        _end(list(self.nodes.values()), grace=3)
        self.nodes.clear()


def _end(processes: list[subprocess.Popen[bytes]], grace: float) -> None:
    """SIGTERM each process's group, then SIGKILL the groups still there after `grace` seconds."""
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the group's other processes too, even once its leader left
        process.wait()


@contextmanager
def three_nodes(temp_dir: Path, dashboard: bool = False) -> Iterator[RayCluster]:
    """A head without GPUs, node B with one GPU and the custom resource `node_b`, node C with `node_b` only."""
    started = time.monotonic()
    cluster = RayCluster(temp_dir, dashboard).start()
    try:
        cluster.wait_for_nodes(1)
        cluster.add_node("b", "--num-gpus", "1", "--resources", '{"node_b": 1}')
        cluster.wait_for_nodes(2)  # one at a time: two raylets starting together timed out on 2 cores
        cluster.add_node("c", "--resources", '{"node_b": 1}')
        cluster.wait_for_nodes(3)
        print(f"Ray cluster of 3 nodes up in {time.monotonic() - started:.1f} s")
        yield cluster
    finally:
        cluster.stop()


def instances(gateway: LiveGateway, name: str) -> list[dict[str, Any]]:
    return gateway.api("GET", f"/api/deployments/{name}").json()["instances"]  # type: ignore[no-any-return]


def wait_state(gateway: LiveGateway, name: str, state: str, timeout: float = 120, **match: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        seen = instances(gateway, name)
        if seen and seen[0]["state"] == state and all(v in seen[0][k] for k, v in match.items()):
            return seen[0]
        time.sleep(0.2)
    raise AssertionError(f"{name} never became {state}: {seen}")


def node_ids_with(resource: str) -> dict[str, str]:
    """Alive nodes that declare `resource`, by the first 8 characters of their id (Ray's view)."""
    import ray

    return {n["NodeID"][:8]: n["NodeID"] for n in ray.nodes() if n["Alive"] and resource in n["Resources"]}
