"""A real Ray cluster of several nodes on this machine, for tests: each node a `ray start --block` process
group of its own, so that one node can be removed (its group killed) while the others run on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.harness import free_port

RAY = str(Path(sys.executable).with_name("ray"))
SMALL = ["--num-cpus", "1", "--object-store-memory", str(100 * 1024 * 1024), "--disable-usage-stats"]


class RayCluster:
    """`start()` the head, `add_node(...)` more; `remove(node)` kills one; `stop()` them all."""

    def __init__(self, temp_dir: Path) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._temp_dir = temp_dir
        self.nodes: dict[str, subprocess.Popen[bytes]] = {}

    def _start(self, name: str, args: list[str]) -> None:
        log = open(self._temp_dir / f"{name}.log", "ab")
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        self.nodes[name] = subprocess.Popen([RAY, "start", "--block", *SMALL, *args], stdout=log, stderr=log,
                                            env=env, start_new_session=True)

    def start(self) -> RayCluster:
        self._temp_dir.mkdir(parents=True, exist_ok=True)
        self._start("head", ["--head", "--port", str(self.port), "--node-ip-address", "127.0.0.1",
                             "--include-dashboard", "false", "--temp-dir", str(self._temp_dir / "ray")])
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
        process = self.nodes.pop(name)
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        for name in [n for n in self.nodes if n != "head"] + ["head"]:
            if name in self.nodes:
                self.remove(name)
