"""Starting and stopping the benchmark's processes, and reading their CPU time and peak memory from /proc.

Every process runs in its own session (so a Ctrl-C in the terminal reaches only the harness, which then
stops them in order), dies with the harness if the harness is killed (PR_SET_PDEATHSIG), and is pinned to
its cores with `taskset` when that exists. Stopping sends SIGTERM to the process group, waits, then
SIGKILLs whatever is left of the whole process tree (children that made their own sessions included).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

_PR_SET_PDEATHSIG = 1


def _session_and_deathsig() -> None:
    """Runs in the child before exec: own session, and SIGTERM when the harness dies."""
    os.setsid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the context manager still stops everything
        pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(argv: Sequence[str], cpus: str | None) -> list[str]:
    """`argv` prefixed with `taskset -c CPUS` when pinning is asked for and possible."""
    if cpus is None or shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        return list(argv)
    return ["taskset", "-c", cpus, *argv]


def children_of() -> dict[int, list[int]]:
    """Parent pid → child pids, for every process visible in /proc."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    tree = children_of()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    """utime+stime of `pid`'s tree, plus the time of children it already reaped (cutime+cstime)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for member in process_tree(pid):
        try:
            stat = Path(f"/proc/{member}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return total / ticks


def tree_memory_mb(pid: int, field: str = "VmHWM") -> float:
    """Sum of a /proc status memory field over `pid`'s tree, in MiB: VmHWM (peak resident set) or VmRSS (now)."""
    total_kb = 0
    for member in process_tree(pid):
        try:
            lines = Path(f"/proc/{member}/status").read_text().splitlines()
        except OSError:
            continue
        total_kb += sum(int(line.split()[1]) for line in lines if line.startswith(field + ":"))
    return total_kb / 1024


def peak_rss_mb(pid: int) -> float:
    """Sum of VmHWM (peak resident set) over `pid`'s tree, in MiB."""
    return tree_memory_mb(pid, "VmHWM")


def wait_http(url: str, timeout: float, headers: dict[str, str] | None = None, expect: bytes = b"",
              process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll `url` until it answers 200 (and its body contains `expect`); TimeoutError when `timeout`
    passes or `process` (the server's) exits first."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise TimeoutError(f"{url}: the server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2) as reply:
                body = reply.read()
                if reply.status == 200 and expect in body:
                    return
                last = f"HTTP {reply.status}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout:g} s ({last})")


@dataclass
class Started:
    """A process the harness started."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self, lines: int = 20) -> str:
        """The last lines of its output, for error messages."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class ProcessGroup:
    """Owns the processes of one scenario; `with ProcessGroup(dir) as group:` stops them all on exit."""

    log_dir: Path
    started: list[Started] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str], cpus: str | None = None,
              env: dict[str, str] | None = None, cwd: Path | None = None) -> Started:
        """Start `argv` (pinned to `cpus`), its output going to LOG_DIR/NAME.log."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with open(log, "wb") as out:
            popen = subprocess.Popen(
                pinned(argv, cpus), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})}, cwd=cwd, preexec_fn=_session_and_deathsig,
            )
        started = Started(name, popen, log)
        self.started.append(started)
        return started

    def stop(self, started: Started, grace: float = 5.0) -> None:
        """SIGTERM its process group, wait up to `grace` s, then SIGKILL its whole tree."""
        if started not in self.started:
            return
        self.started.remove(started)
        family = process_tree(started.pid)
        if started.popen.poll() is None:
            try:
                os.killpg(started.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                started.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        started.popen.wait(timeout=grace)

    def stop_all(self) -> None:
        """Stop everything, the last started first."""
        for started in reversed(list(self.started)):
            self.stop(started)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop_all()
