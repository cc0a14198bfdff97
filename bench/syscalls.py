"""System calls per request of a gateway under one relay scenario, counted by `strace -c`.

`python -m bench syscalls --scenario chat-c64 --systems modelport-nousage,modelport-baseline`: each system is
started in front of the bench's mock as a run would start it, `strace -c -f` is attached to it while wrk (or
bench/pyload.py) drives the scenario, and the counts are divided by the requests answered. Unlike times on a
shared machine, these counts do not move from run to run (strace slows the gateway, not what it calls).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time

from bench.procs import pinned
from bench.profile import load_argv, serving

SHOWN = ("write", "writev", "read", "getpid", "futex", "epoll_pwait", "sendto", "recvfrom", "pwrite64")


def count(scenario_name: str, system: str, seconds: float = 6.0) -> tuple[int, dict[str, float]]:
    """(requests answered, calls per request by system call name, with "total") for one system."""
    if shutil.which("strace") is None:
        raise RuntimeError("strace is not installed: apt-get install -y strace")
    with serving(scenario_name, system) as (scenario, gw, opts, tmp):
        argv = load_argv(gw.base_url + scenario.path, scenario.body, gw.key, scenario.concurrency, seconds, tmp)
        table = tmp / "strace.txt"
        tracer = subprocess.Popen(["strace", "-c", "-f", "-p", str(gw.sut.pid), "-o", str(table)],
                                  stderr=subprocess.DEVNULL)
        time.sleep(0.5)  # attached before the load begins
        load = subprocess.run(pinned(argv, opts.load_cpus), capture_output=True, text=True, timeout=seconds + 60)
        tracer.send_signal(signal.SIGINT)
        tracer.wait(timeout=30)
        requests = _requests(load.stdout)
        return requests, _per_request(table.read_text(), requests)


def _requests(output: str) -> int:
    found = re.search(r"(\d+) requests in", output) or re.search(r'"requests":\s*(\d+)', output)
    if found is None:
        raise RuntimeError(f"no request count in the load generator's output:\n{output[-2000:]}")
    return int(found.group(1))


def _per_request(table: str, requests: int) -> dict[str, float]:
    calls: dict[str, float] = {}
    for line in table.splitlines():
        words = line.split()
        if len(words) >= 5 and words[3].isdigit():
            calls[words[-1]] = int(words[3]) / max(requests, 1)
    return calls


def report(scenario_name: str, systems: list[str], seconds: float = 6.0) -> str:
    """A markdown table of the calls per request of each system."""
    lines = [f"System calls per request under {scenario_name} (strace -c -f, {seconds:g} s each)", "",
             "| system | requests | " + " | ".join(SHOWN) + " | all |", "|---|---:|" + "---:|" * (len(SHOWN) + 1)]
    for system in systems:
        requests, calls = count(scenario_name, system, seconds)
        cells = " | ".join(f"{calls.get(name, 0.0):.2f}" for name in SHOWN)
        lines.append(f"| {system} | {requests} | {cells} | {calls.get('total', 0.0):.2f} |")
    return "\n".join(lines)
