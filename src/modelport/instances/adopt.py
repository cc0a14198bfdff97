"""Instances that outlive their gateway, for the next one to adopt (gateways sharing a PostgreSQL store).

The supervising gateway starts each instance's shim with a keeper file (`--keep-while`) and touches it while
it supervises; if the gateway dies, the shim keeps the engine running as long as someone touches that file.
The gateway elected next finds the instance from its record (pid, URL, node): the pid must be a shim of ours,
started with a keeper file, on this node. It touches the keeper from then on and watches the process as its
own, though not its child: by polling, and stopping it by its process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from modelport.private_files import private_dir, private_file
from modelport.records import InstanceRecord, InstanceState

SHIM_MODULE = "modelport.instances.shim"
ADOPTABLE_STATES = frozenset({InstanceState.READY, InstanceState.UNHEALTHY, InstanceState.STARTING})
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class KeepPolicy:
    """Where keeper files go and how long a shim waits for a touch once its gateway is gone."""

    folder: Path
    seconds: float = 30.0

    def keeper_for(self, name: str, ordinal: int, port: int) -> Path:
        """A fresh keeper file (0600 in a 0700 folder) for one start of an instance."""
        private_dir(self.folder)
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
        path = self.folder / f"{safe}-{ordinal}-{port}.keep"
        private_file(path)
        os.utime(path)
        return path

    def shim_options(self, keeper: Path) -> list[str]:
        return ["--keep-while", str(keeper), "--keep-seconds", f"{self.seconds:g}"]


async def keep_touching(keeper: Path, every: float) -> None:
    """Touch `keeper` every `every` seconds until cancelled (a shim whose gateway died waits on it)."""
    while True:
        with contextlib.suppress(OSError):
            os.utime(keeper)
        await asyncio.sleep(every)


@dataclass(frozen=True)
class Adoptable:
    """A running shim of ours that a previous supervisor started: its pid (= its process group), its keeper
    file and the port its engine listens on."""

    pid: int
    keeper: Path
    port: int

    def alive(self) -> bool:
        """Whether the shim still runs (a zombie counts as gone)."""
        try:
            with open(f"/proc/{self.pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False

    async def exited(self) -> None:
        """Return once the shim is gone."""
        while self.alive():
            await asyncio.sleep(POLL_SECONDS)

    async def terminate(self, grace_seconds: float) -> None:
        """SIGTERM the group (the shim passes it on), SIGKILL it after the grace period."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while self.alive() and time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)


def find_adoptable(record: InstanceRecord | None, node: str) -> Adoptable | None:
    """The running shim `record` describes, if it can be adopted here: recorded as running on this node,
    its pid a shim of ours with a keeper file (a reused pid is some other program's, and is left alone)."""
    if record is None or record.pid is None or record.state not in ADOPTABLE_STATES or record.node != node:
        return None
    port = urlsplit(record.url).port
    try:
        argv = Path(f"/proc/{record.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    words = [part.decode(errors="replace") for part in argv]
    if port is None or SHIM_MODULE not in words or "--keep-while" not in words:
        return None
    keeper_at = words.index("--keep-while") + 1
    try:
        leads_its_group = os.getpgid(record.pid) == record.pid
    except ProcessLookupError:
        return None
    if keeper_at >= len(words) or not leads_its_group:
        return None
    adoptable = Adoptable(record.pid, Path(words[keeper_at]), port)
    return adoptable if adoptable.alive() else None
