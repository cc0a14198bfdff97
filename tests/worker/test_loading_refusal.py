"""A worker that is still loading its model refuses with 503, Retry-After and `x-modelport-refused: loading`,
the header that tells the gateway to try another replica without taking this one out of rotation."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.worker.live import free_port, require_ready

MODEL = "smollm2-135m-instruct"


def test_a_request_during_the_load_is_a_refusal_to_try_elsewhere(tmp_path: Path) -> None:
    require_ready(MODEL)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "MODELPORT_INSTANCE_SECRET"}
    command = [sys.executable, "-m", "modelport.worker", "--engine", "llama.cpp", "--model", MODEL,
               "--port", str(port)]  # fmt: skip
    with open(tmp_path / "worker.log", "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        body = {"model": MODEL, "prompt": "Hi", "max_tokens": 1}
        deadline, answer = time.monotonic() + 60, None
        while time.monotonic() < deadline and answer is None:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/v1/completions", json=body, timeout=10)
            except httpx.TransportError:  # not listening yet
                time.sleep(0.01)
        assert answer is not None, (tmp_path / "worker.log").read_text()
        assert answer.status_code == 503, answer.text
        assert answer.headers["x-modelport-refused"] == "loading"
        assert answer.headers["retry-after"] == "1"
        assert answer.json()["error"]["code"] == "loading"
    finally:
        process.terminate()
        process.wait(timeout=30)
