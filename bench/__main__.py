"""`python -m bench run|setup`: the benchmark harness's one entry point (see bench/README.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

from bench import systems as sysmod
from bench.loadgen import wrk_available
from bench.profile import PY_SPY_VENV, profile
from bench.report import evaluate, markdown, summarise
from bench.runner import RunOptions, run_engines, run_relay
from bench.scenarios import SMOKE, EngineScenario, select

RESULTS = sysmod.REPO / "bench" / "results"
LITELLM_PIN = "litellm[proxy]==1.106.12"  # 1.107.0 was a compromised release; later ones need litellm-proxy
PY_SPY_PIN = "py-spy==0.4.3"
DOCS = sysmod.REPO / "docs" / "benchmarks.md"
DOCS_START, DOCS_END = "<!-- results:start -->", "<!-- results:end -->"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM/SIGHUP unwind like Ctrl-C, so every started process is stopped."""
    raise KeyboardInterrupt(f"signal {signum}")


def _meta(args: argparse.Namespace, started: str) -> dict[str, Any]:
    tools = "wrk 4 (non-streaming, burst streams at c=64) and bench/pyload.py (other streams)" \
        if wrk_available() else "bench/pyload.py (wrk not installed)"
    versions = f"Python {platform.python_version()}"
    if sysmod.litellm_available():
        versions += f", LiteLLM {sysmod.litellm_version()}"
    return {"started": started, "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, SUT on CPU 1, load on CPU 0",
            "repeat": args.repeat, "duration": args.duration, "load_tools": tools, "versions": versions}


def _write(out: Path, stem: str, rows: list[dict[str, Any]], meta: dict[str, Any]) -> Path:
    summary = summarise(rows)
    targets = evaluate(summary)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(
        {"meta": meta, "summary": summary, "targets": targets, "rows": rows}, indent=1, default=str))
    text = markdown(summary, targets, meta)
    (out / f"{stem}.md").write_text(text)
    return out / f"{stem}.md"


def update_docs(table: str, docs: Path = DOCS) -> bool:
    """Put `table` between the results markers of docs/benchmarks.md; False when the markers are missing."""
    if not docs.exists():
        return False
    text = docs.read_text()
    start, end = text.find(DOCS_START), text.find(DOCS_END)
    if start < 0 or end < start:
        return False
    docs.write_text(text[: start + len(DOCS_START)] + "\n" + table + "\n" + text[end:])
    return True


def cmd_run(args: argparse.Namespace) -> int:
    """Run the chosen scenarios and write the results."""
    started = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    engines: list[EngineScenario] = []
    if args.smoke:
        relay = [SMOKE]
        args.repeat, args.duration = 1, min(args.duration, 2.0)
        systems: tuple[str, ...] = ("direct", "modelport")
    else:
        relay, engines = select(args.scenario)
        systems = tuple(args.systems.split(","))
    out = Path(args.out) if args.out else RESULTS
    with tempfile.TemporaryDirectory(prefix="modelport-bench-") as tmp:
        opts = RunOptions(run_dir=Path(tmp), repeat=args.repeat, duration=args.duration,
                          warmup=0.5 if args.smoke else 1.0, systems=systems, engine_seconds=args.engine_seconds)
        rows: list[dict[str, Any]] = []
        for scenario in relay:
            _log(f"== {scenario.name}: {scenario.title}")
            rows += run_relay(scenario, opts, _log)
        if engines:
            _log("== engines")
            rows += run_engines(engines, opts, _log)
    meta = _meta(args, started)
    stem = "smoke" if args.smoke else "latest"
    path = _write(out, stem, rows, meta)
    if not args.smoke and not args.out:
        raw = RESULTS / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        (raw / f"{started.replace(' ', '_').replace(':', '')}.json").write_text(json.dumps(rows, default=str))
        if update_docs(path.read_text()):
            _log(f"updated {DOCS}")
    print(path.read_text())
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    """Install what the full run needs: wrk and nginx (apt), LiteLLM's proxy in bench/.venvs/litellm."""
    if not (wrk_available() and sysmod.nginx_binary()):
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk", "nginx"], check=True)
    venv = sysmod.LITELLM_VENV
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # based on the base interpreter
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", LITELLM_PIN], check=True)
    tools = PY_SPY_VENV
    if not (tools / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True)
    subprocess.run([str(tools / "bin" / "pip"), "install", "-q", PY_SPY_PIN], check=True)
    _log(f"ready: wrk, nginx, {LITELLM_PIN} in {venv}, {PY_SPY_PIN} in {tools}")
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    """py-spy the gateway under load and print its hottest frames."""
    print(profile(args.scenario, args.seconds, Path(args.out) if args.out else None, system=args.system,
                  native=args.native))
    return 0


def cmd_syscalls(args: argparse.Namespace) -> int:
    """System calls per request of each system under one relay scenario (strace)."""
    from bench.syscalls import report

    print(report(args.scenario, args.systems.split(","), args.seconds))
    return 0


def cmd_soak(args: argparse.Namespace) -> int:
    """A fixed rate through one gateway for minutes: its RSS and the ledger's rows over time."""
    from bench.soak import markdown, run_soak

    summary = run_soak(args.rate, args.minutes, args.every)
    out = Path(args.out) if args.out else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    (out / "soak.json").write_text(json.dumps(summary, indent=1))
    text = markdown(summary)
    (out / "soak.md").write_text(text)
    print(text)
    return 0 if summary["rows_equal_answered"] and summary["rss_flat"] else 1


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m bench", description="modelport benchmarks")
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run scenarios and write bench/results/latest.{md,json}")
    run.add_argument("--scenario", default="all", help="all, relay, engines, or one scenario name")
    run.add_argument("--repeat", type=int, default=3)
    run.add_argument("--duration", type=float, default=5.0, help="seconds per measured run")
    run.add_argument("--engine-seconds", type=float, default=15.0, help="seconds per engine measurement")
    run.add_argument("--systems", default="direct,modelport,modelport-w2,litellm,nginx")
    run.add_argument("--smoke", action="store_true", help="one ~2 s scenario, direct and modelport only")
    run.add_argument("--out", help="directory for the results (default bench/results)")
    run.set_defaults(func=cmd_run)
    setup = sub.add_parser("setup", help="install wrk, nginx, LiteLLM and py-spy (own venvs)")
    setup.set_defaults(func=cmd_setup)
    prof = sub.add_parser("profile", help="py-spy the gateway under one relay scenario")
    prof.add_argument("--scenario", default="chat-c64")
    prof.add_argument("--seconds", type=float, default=10.0)
    prof.add_argument("--out", help="keep the raw samples here")
    prof.add_argument("--system", default="modelport", help="modelport, modelport-nousage or modelport-baseline")
    prof.add_argument("--native", action="store_true", help="sample C frames too (the garbage collector, I/O)")
    prof.set_defaults(func=cmd_profile)
    calls = sub.add_parser("syscalls", help="system calls per request of each system (strace -c)")
    calls.add_argument("--scenario", default="chat-c64")
    calls.add_argument("--seconds", type=float, default=6.0)
    calls.add_argument("--systems", default="modelport,modelport-nousage")
    calls.set_defaults(func=cmd_syscalls)
    soak = sub.add_parser("soak", help="a fixed rate for minutes: the gateway's RSS and the usage ledger's rows")
    soak.add_argument("--rate", type=float, default=200.0, help="requests per second")
    soak.add_argument("--minutes", type=float, default=10.0)
    soak.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    soak.add_argument("--out", help="directory for soak.{json,md} (default bench/results)")
    soak.set_defaults(func=cmd_soak)
    return top


def main() -> int:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _terminate)
    args = parser().parse_args()
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        _log("interrupted; every started process was stopped")
        return 130


if __name__ == "__main__":
    sys.exit(main())
