"""Running a load generator in its own (pinned) process and reading its numbers back.

- wrk (Debian package `wrk`): throughput and latency percentiles of whole responses (a Lua script sets the
  POST body and prints a JSON summary). It cannot see inside a response.
- pyload (bench/pyload.py): the same plus first-byte latency and SSE events; used for streams, and for
  everything when wrk is missing (the smoke run). Its own CPU is higher than wrk's, so its req/s caps
  lower: rows of one scenario always use the same tool.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.procs import pinned

_WRK_SCRIPT = """wrk.method = "POST"
wrk.body = [==[%(body)s]==]
wrk.headers["Content-Type"] = "application/json"
%(auth)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %%d, "duration_us": %%d, "errors": %%d, "p50_us": %%d, ' ..
    '"p99_us": %%d, "mean_us": %%f, "bytes": %%d}\\n', summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(99),
    latency.mean, summary.bytes))
end
"""


@dataclass(frozen=True)
class Load:
    """One load run: where, what, how hard, for how long, with which tool."""

    url: str
    body: str
    key: str | None
    concurrency: int
    duration: float
    tool: str  # "wrk" or "pyload"


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_load(load: Load, cpus: str | None, work_dir: Path) -> dict[str, float]:
    """Run `load` to completion and return its summary (req/s, latencies in ms, events when known)."""
    if load.tool == "wrk":
        return _run_wrk(load, cpus, work_dir)
    return _run_pyload(load, cpus)


def _run_wrk(load: Load, cpus: str | None, work_dir: Path) -> dict[str, float]:
    script = work_dir / "wrk-post.lua"
    auth = f'wrk.headers["Authorization"] = "Bearer {load.key}"' if load.key else ""
    script.write_text(_WRK_SCRIPT % {"body": load.body, "auth": auth})
    seconds = max(1, round(load.duration))
    argv = ["wrk", "-t1", f"-c{load.concurrency}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
            load.url]
    done = subprocess.run(pinned(argv, cpus), capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no summary (rc {done.returncode}): {done.stdout[-500:]} {done.stderr[-500:]}")
    raw = json.loads(line.removeprefix("WRKJSON "))
    elapsed = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "errors": raw["errors"],
        "duration_s": elapsed,
        "rps": raw["requests"] / elapsed if elapsed else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "mean_ms": raw["mean_us"] / 1000,
    }


def _run_pyload(load: Load, cpus: str | None) -> dict[str, float]:
    argv = [sys.executable, "-m", "bench.pyload", "--url", load.url, "--body", load.body,
            "--concurrency", str(load.concurrency), "--duration", str(load.duration)]
    if load.key:
        argv += ["--key", load.key]
    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run(pinned(argv, cpus), capture_output=True, text=True, timeout=load.duration + 60, cwd=repo)
    if done.returncode != 0:
        raise RuntimeError(f"pyload failed (rc {done.returncode}): {done.stderr[-800:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {k: v for k, v in result.items() if isinstance(v, (int, float))}
