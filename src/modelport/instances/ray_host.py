"""The Ray actor that owns one instance's engine on the node Ray chose (`modelport[ray]`).

The gateway creates it with the deployment's resources; the actor finds a free port on its node, then starts
the engine under our shim (which kills the engine's process group if the actor's worker dies) with the
CUDA_VISIBLE_DEVICES Ray set for it. The instance secret never travels in the actor's arguments: the
argument holds a placeholder and, nested in a list so that Ray does not resolve it into the task, a
reference to an object in the object store; the actor reads the secret from there, and the gateway drops
the object once the engine started. Arguments and runtime_env are shown by Ray's state API and dashboard;
objects are not. A model named by name (a Hub repo, an Ollama model) is first fetched by the actor into its
node's own cache, in a thread, so that the gateway can ask how far it got while it runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from modelport.instances.fetching import Fetching, FetchStatus
from modelport.instances.log_tail import tail

SECRET_MARK = "@@MODELPORT_INSTANCE_SECRET@@"


class EngineHost:
    """One engine process on this node, from start to stop. Methods run one at a time (a sync actor)."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Path | None = None
        self._placed: dict[str, Any] = {}
        self._fetching: Fetching | None = None

    def place(self) -> dict[str, Any]:
        """Where this actor runs: node id and address, a free port there, the GPUs Ray gave it."""
        import ray

        address = str(ray.util.get_node_ip_address())  # type: ignore[no-untyped-call]
        with socket.socket() as sock:
            sock.bind((address, 0))
            port = int(sock.getsockname()[1])
        self._placed = {"node_id": ray.get_runtime_context().get_node_id(), "address": address, "port": port,
                        "gpus": [str(gpu) for gpu in ray.get_gpu_ids()]}
        return self._placed

    def describe(self) -> dict[str, Any]:
        """Where it runs and its engine: what the next supervisor checks before adopting this actor."""
        running = self._process is not None and self._process.poll() is None
        return {**self._placed, "pid": self._process.pid if self._process is not None else None, "running": running}

    def begin_fetch(self, model: str) -> None:
        """Start fetching `model` into this node's model cache; `fetch_status()` says how far it got."""
        self._fetching = Fetching(model)

    def fetch_status(self) -> FetchStatus:
        """How the fetch `begin_fetch` started stands: its progress, then the model's path on this node."""
        assert self._fetching is not None
        return self._fetching.status()

    def start(self, argv: list[str], env: dict[str, str], log_name: str, secret_box: list[Any]) -> int:
        """Start the engine (the secret put in place of `SECRET_MARK`); its shim's pid."""
        import ray

        secret = str(ray.get(secret_box[0]))
        self._log = engine_log(log_name)
        folder = self._log.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder.parent, 0o700)
        os.chmod(folder, 0o700)
        fd = os.open(self._log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "ab") as log_file:
            log_file.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {argv[0]}\n".encode())
            log_file.flush()
            self._process = subprocess.Popen(
                [sys.executable, "-m", "modelport.instances.shim", "--",
                 *[part.replace(SECRET_MARK, secret) for part in argv]],
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, **{key: value.replace(SECRET_MARK, secret) for key, value in env.items()}},
            )
        return self._process.pid

    def poll(self) -> int | None:
        """The engine's exit status, or None while it runs."""
        return None if self._process is None else self._process.poll()

    def stop(self, grace_seconds: float) -> None:
        """Cancel a fetch under way; SIGTERM the engine's process group, SIGKILL it after the grace period."""
        if self._fetching is not None:
            self._fetching.cancel(grace_seconds)
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace_seconds)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def tail(self, lines: int) -> str:
        """The last `lines` lines of the engine's log on this node."""
        if self._log is None or not self._log.exists():
            return ""
        return tail(self._log, lines)


def engine_log(log_name: str) -> Path:
    """Where a node keeps the log of the engine `log_name` names (a file name, never a path)."""
    if Path(log_name).name != log_name or log_name in ("", ".", ".."):
        raise ValueError(f"not a log file name: {log_name!r}")
    return Path(tempfile.gettempdir()) / f"modelport-{os.getuid()}" / "logs" / log_name


def read_engine_log(log_name: str, lines: int) -> tuple[float, str]:
    """When the engine log `log_name` on the node this runs on was last written (0 when there is none) and
    its `tail`: a Ray task sent to each node when no actor hosts the instance any more (its engine exited,
    it waits to restart)."""
    path = engine_log(log_name)
    try:
        return path.stat().st_mtime, tail(path, lines)
    except FileNotFoundError:
        return 0.0, ""


def bind_to(argv: list[str], address: str) -> list[str]:
    """`argv` listening on `address` instead of loopback: the value after --host/--hostname, or --host added
    for the built-in worker."""
    out = list(argv)
    for index, part in enumerate(out[:-1]):
        if part in ("--host", "--hostname"):
            out[index + 1] = address
            return out
    if "modelport.worker" in out:
        out += ["--host", address]
    return out
