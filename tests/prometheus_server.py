"""A throwaway Prometheus server for tests (Debian's `prometheus`, installed by scripts/test), on 127.0.0.1,
scraping the targets it is given every 200 ms.

    with PrometheusServer(tmp_path, targets=["127.0.0.1:8080"], token="t") as prom:
        prom.wait_for("sum(modelport_requests_total)", lambda v: v >= 3)

Without the binary this raises: the tests fail rather than skip.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from tests.harness import free_port

SCRAPE_MS = 200
SCRAPE_SECONDS = SCRAPE_MS / 1000


class PrometheusServer:
    """`prometheus` with a generated scrape config, its data in `folder`."""

    def __init__(self, folder: Path, targets: list[str], token: str | None = None) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise RuntimeError("prometheus is not installed: run scripts/test (it installs Debian's prometheus)")
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        auth = f"    authorization:\n      credentials: {token}\n" if token else ""
        self.config = folder / "prometheus.yml"
        folder.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            f"global:\n  scrape_interval: {SCRAPE_MS}ms\n  scrape_timeout: {SCRAPE_MS}ms\n"
            f"scrape_configs:\n  - job_name: modelport\n    metrics_path: /metrics\n{auth}"
            f"    static_configs:\n      - targets: [{', '.join(repr(t) for t in targets)}]\n"
        )
        self.process: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None

    def __enter__(self) -> PrometheusServer:
        self._log = log = open(self.folder / "prometheus.log", "ab")
        self.process = subprocess.Popen(
            [self.binary, f"--config.file={self.config}", f"--storage.tsdb.path={self.folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"prometheus did not start: {(self.folder / 'prometheus.log').read_text()}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant PromQL query's result vector."""
        answer = httpx.get(self.url + "/api/v1/query", params={"query": promql}, timeout=5).json()
        assert answer["status"] == "success", answer
        return answer["data"]["result"]  # type: ignore[no-any-return]

    def wait_for(self, promql: str, done: Callable[[float], bool], timeout: float = 30) -> float | None:
        """The value of a one-element query once `done` holds for it (None if it never did in time)."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            result = self.query(promql)
            if result:
                value = float(result[0]["value"][1])
                if done(value):
                    return value
            time.sleep(SCRAPE_SECONDS)
        return value

    def targets_up(self) -> list[str]:
        """The health of each scrape target."""
        answer = httpx.get(self.url + "/api/v1/targets", timeout=5).json()
        return [target["health"] for target in answer["data"]["activeTargets"]]
