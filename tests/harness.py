"""Live processes for black-box tests: a real `modelport serve` on a free port, driven over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveGateway:
    """`modelport serve` in a subprocess with its own data dir. Use `start()`/`stop()` or as a context."""

    def __init__(self, data_dir: Path, *args: str, database_url: str | None = None, probe_seconds: float = 0.3,
                 defaults: bool = False) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.v1 = self.url + "/v1"
        self.database_url = database_url
        self._args = [*([] if defaults else ["--no-defaults"]), "--probe-seconds", str(probe_seconds), *args]
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "serve.log"

    def _store_args(self) -> list[str]:
        args = ["--data-dir", str(self.data_dir)]
        return args + (["--database-url", self.database_url] if self.database_url else [])

    def start(self, timeout: float = 60) -> LiveGateway:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "modelport", "serve", "--port", str(self.port), *self._store_args(), *self._args]
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"modelport serve exited: {self.log_path.read_text()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"modelport serve did not become ready: {self.log_path.read_text()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode

    def __enter__(self) -> LiveGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def admin_key(self) -> str:
        return (self.data_dir / "admin-key").read_text().strip()

    def cli(self, *args: str, remote: bool = False, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `modelport ARGS` against this gateway's store, or through its admin API when `remote`."""
        target = ["--server", self.url] if remote else self._store_args()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
        if remote:
            env["MODELPORT_API_KEY"] = self.admin_key  # not in argv, where every local user could read it
        result = subprocess.run(
            [sys.executable, "-m", "modelport", *args, *target], capture_output=True, text=True, env=env, timeout=60
        )
        if check and result.returncode != 0:
            raise AssertionError(f"modelport {' '.join(args)} failed: {result.stderr}")
        return result

    def api(self, method: str, path: str, json: Any = None, key: str | None = None) -> httpx.Response:
        headers = {"authorization": f"Bearer {key or self.admin_key}"}
        return httpx.request(method, self.url + path, json=json, headers=headers, timeout=30)

    def deploy(self, name: str, urls: list[str], wait: bool = True, **spec: Any) -> dict[str, Any]:
        response = self.api("POST", "/api/deployments", {"name": name, "urls": urls, **spec})
        assert response.status_code == 201, response.text
        if wait:
            self.wait_ready(name)
        return response.json()  # type: ignore[no-any-return]

    def wait_ready(self, name: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            models = self.api("GET", "/v1/models").json()["data"]
            if any(m["id"] == name for m in models):
                return
            time.sleep(0.05)
        raise AssertionError(f"{name} never became ready")

    def create_key(self, name: str = "test", **fields: Any) -> str:
        response = self.api("POST", "/api/keys", {"name": name, **fields})
        assert response.status_code == 201, response.text
        return response.json()["key"]  # type: ignore[no-any-return]


def last_request(fake: Any, path: str) -> Any:
    """The fake upstream's latest recorded request to `path` (health probes hit it too)."""
    return next(r for r in reversed(fake.requests) if r.path == path)
