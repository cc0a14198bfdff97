"""The reaper shim: an engine's whole process group dies with the gateway, even on SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def wait_for(predicate, timeout: float = 10) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_grandchildren_die_when_the_parent_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    # parent (stands in for the gateway) → shim → sh → sleep (a grandchild that forks like vLLM's workers)
    engine = f"sleep 300 & echo $! > {pid_file}; wait"
    parent_code = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-m', 'modelport.instances.shim', '--', 'sh', '-c', {engine!r}],"
        " start_new_session=True)\n"
        "time.sleep(300)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code])
    assert wait_for(lambda: pid_file.exists() and pid_file.read_text().strip())
    grandchild = int(pid_file.read_text())
    assert alive(grandchild)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert wait_for(lambda: not alive(grandchild)), "the engine's child outlived the gateway"


def test_sigterm_is_passed_on_and_status_returned(tmp_path: Path) -> None:
    shim = subprocess.Popen([sys.executable, "-m", "modelport.instances.shim", "--", "sleep", "300"],
                            start_new_session=True)
    time.sleep(0.5)
    shim.send_signal(signal.SIGTERM)
    assert shim.wait(10) == 128 + signal.SIGTERM
