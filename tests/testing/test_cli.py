"""``python -m modelport.testing`` as users run it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_serves_until_terminated() -> None:
    port = free_port()
    command = [sys.executable, "-m", "modelport.testing", "--port", str(port), "--api-key", "k",
               "--model", "m1", "--model", "m2", "--no-record"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        _check_and_stop(process, port)


def _check_and_stop(process: subprocess.Popen[str], port: int) -> None:
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line == f"fake upstream listening on http://127.0.0.1:{port}/v1\n"
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": "Bearer k"})
        assert [m["id"] for m in models.json()["data"]] == ["m1", "m2"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
