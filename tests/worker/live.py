"""A real `python -m modelport.worker` process on a free port, for black-box tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Self

import pytest

from modelport.engines.catalog import find_entry


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_ready(model: str) -> None:
    """Skip the calling test module when a catalog model can't run here, saying what to install."""
    entry = find_entry(model)
    assert entry is not None, model
    ready, why, hint = entry.readiness()
    if not ready:
        pytest.skip(f"{model} not ready: {why} ({hint})")


class LiveWorker:
    """Starts a worker, waits for /health, stops it with SIGTERM. The log is kept in `log_path`."""

    def __init__(
        self, engine: str, model: str, log_dir: Path, *args: str, secret: str | None = "test-secret"
    ) -> None:
        self.engine, self.model, self.args, self.secret = engine, model, args, secret
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"worker-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def headers(self) -> dict[str, str]:
        """Authorization for this worker's secret."""
        return {"Authorization": f"Bearer {self.secret}"} if self.secret else {}

    def start(self, timeout: float = 120.0) -> None:
        """Launch the process and wait until /health answers 200."""
        env = {k: v for k, v in os.environ.items() if k != "MODELPORT_INSTANCE_SECRET"}
        if self.secret:
            env["MODELPORT_INSTANCE_SECRET"] = self.secret
        command = [
            sys.executable,
            "-m",
            "modelport.worker",
            "--engine",
            self.engine,
            "--model",
            self.model,
            "--port",
            str(self.port),
            *self.args,
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"worker exited with {self.process.returncode}:\n{self.log_path.read_text()}"
                )
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"worker not healthy after {timeout}s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        """The worker's output so far."""
        return self.log_path.read_text(errors="replace")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
