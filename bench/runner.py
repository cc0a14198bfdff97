"""Running scenarios: start the mock and the systems, drive the load, read CPU and memory from /proc.

Placement on this 2-core machine: the systems under test (and, for the direct row, a mock of their own)
run on `sut_cpus`; the load generator and the proxies' mock share `load_cpus`. CPU time is read per
system from /proc (utime+stime of its process tree) right before and after each measured run, so it holds
steady when the machine is noisy. Repetitions interleave the systems, so drift hits them alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import systems as sysmod
from bench.loadgen import Load, run_load, wrk_available
from bench.procs import ProcessGroup, Started, cpu_seconds, free_port, peak_rss_mb, pinned, wait_http
from bench.scenarios import EngineScenario, Scenario

Row = dict[str, Any]
Log = Callable[[str], None]


@dataclass(frozen=True)
class RunOptions:
    """How hard and how long to measure, where to place processes, which systems to include."""

    run_dir: Path
    repeat: int = 3
    duration: float = 5.0
    warmup: float = 1.0
    systems: tuple[str, ...] = ("direct", "modelport", "litellm", "nginx")
    sut_cpus: str | None = "1"
    load_cpus: str | None = "0"
    engine_seconds: float = 15.0


def start_mock(group: ProcessGroup, name: str, scenario: Scenario, cpus: str | None) -> tuple[Started, int]:
    port = free_port()
    argv = [sys.executable, "-m", "bench.mock_upstream", "--port", str(port), "--chunks",
            str(scenario.chunks or 64), "--delay-ms", str(scenario.delay_ms)]
    mock = group.start(name, argv, cpus, cwd=sysmod.REPO)
    wait_http(f"http://127.0.0.1:{port}/v1/models", 30)
    return mock, port


def start_system(name: str, group: ProcessGroup, opts: RunOptions, scenario: Scenario,
                 upstream_port: int) -> sysmod.System:
    """Start system `name` in front of the mock on `upstream_port` (`direct`: a mock of its own, on the
    SUT's cores)."""
    work = opts.run_dir / scenario.name
    if name == "direct":
        mock, port = start_mock(group, "mock-direct", scenario, opts.sut_cpus)
        return sysmod.start_direct(group, mock, port)
    if name == "modelport-w2":  # two gateway processes, free to use both cores (the load generator shares one)
        return sysmod.start_modelport(group, work, upstream_port, None, workers=2)
    if name == "modelport-nousage":  # the same gateway without usage records: what usage costs (issue 15)
        return sysmod.start_modelport(group, work, upstream_port, opts.sut_cpus, usage=False)
    if name == "modelport-baseline":  # another checkout's gateway beside this one (MODELPORT_BASELINE_SRC)
        source = os.environ.get("MODELPORT_BASELINE_SRC")
        if not source:
            raise RuntimeError("modelport-baseline needs MODELPORT_BASELINE_SRC: the src/ of another checkout")
        return sysmod.start_modelport(group, work, upstream_port, opts.sut_cpus, source=Path(source))
    starters = {"modelport": sysmod.start_modelport, "litellm": sysmod.start_litellm, "nginx": sysmod.start_nginx}
    if name not in starters:
        raise ValueError(f"unknown system {name!r}")
    if name == "litellm" and not sysmod.litellm_available():
        raise RuntimeError("LiteLLM is not installed: run `python -m bench setup`")
    return starters[name](group, work, upstream_port, opts.sut_cpus)


def measure(system: sysmod.System, scenario: Scenario, opts: RunOptions, work_dir: Path, rep: int) -> Row:
    """One measured run of `scenario` against `system`, after a short warm-up."""
    tool = scenario.tool if wrk_available() else "pyload"
    load = Load(system.base_url + scenario.path, scenario.body, system.key, scenario.concurrency, opts.duration, tool)
    run_load(Load(**{**load.__dict__, "duration": opts.warmup}), opts.load_cpus, work_dir)
    pid = system.sut.pid
    before = cpu_seconds(pid)
    result = run_load(load, opts.load_cpus, work_dir)
    cpu = cpu_seconds(pid) - before
    requests = max(1, int(result["requests"]))
    row: Row = {"scenario": scenario.name, "system": system.name, "rep": rep, "tool": tool, **result,
                "cpu_s": cpu, "cpu_us_per_req": cpu / requests * 1e6, "rss_mb": peak_rss_mb(pid)}
    if scenario.stream:
        chunks = requests * scenario.relayed_chunks
        row["chunks_per_s"] = chunks / result["duration_s"] if result["duration_s"] else 0.0
        row["cpu_us_per_chunk"] = cpu / chunks * 1e6
    return row


def run_relay(scenario: Scenario, opts: RunOptions, log: Log) -> list[Row]:
    """All repetitions of one relay scenario over every system that starts."""
    work = opts.run_dir / scenario.name
    work.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    with ProcessGroup(work) as group:
        _, port = start_mock(group, "mock", scenario, opts.load_cpus)
        running: list[sysmod.System] = []
        for name in opts.systems:
            try:
                running.append(start_system(name, group, opts, scenario, port))
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                log(f"  {name}: skipped ({str(exc).splitlines()[0]})")
                rows.append({"scenario": scenario.name, "system": name, "skipped": str(exc)[:500]})
        for rep in range(opts.repeat):
            for system in running:
                row = measure(system, scenario, opts, work, rep)
                log(f"  {scenario.name} rep {rep + 1}/{opts.repeat} {system.name:<9} {_brief(row)}")
                rows.append(row)
    return rows


def _brief(row: Row) -> str:
    text = f"{row['rps']:9.0f} req/s  p50 {row['p50_ms']:7.3f} ms  p99 {row['p99_ms']:7.3f} ms  " \
           f"cpu {row['cpu_us_per_req']:7.1f} us/req"
    if "ttfb_p50_ms" in row:
        text += f"  ttfb p50 {row['ttfb_p50_ms']:.3f} ms"
    if row.get("errors"):
        text += f"  errors {row['errors']}"
    return text


def _engine_json(argv: list[str], cpus: str | None, timeout: float) -> dict[str, float]:
    done = subprocess.run(pinned(argv, cpus), capture_output=True, text=True, timeout=timeout, cwd=sysmod.REPO)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} failed: {done.stderr[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


UNITS = {"chat": "tokens", "embed": "embeddings", "speech": "audio seconds", "transcribe": "audio seconds",
         "embed-concurrency": "embeddings", "chat-prefix": "x faster first token", "chat-concurrency": "tokens",
         "rerank-concurrency": "documents"}


def run_engines(scenarios: list[EngineScenario], opts: RunOptions, log: Log) -> list[Row]:
    """Each engine scenario: in-process library vs through `modelport serve` with its default models."""
    if not scenarios:
        return []
    rows: list[Row] = []
    seconds = opts.engine_seconds
    with ProcessGroup(opts.run_dir / "engines") as group:
        try:
            gw = sysmod.start_modelport_defaults(group, opts.run_dir, opts.sut_cpus,
                                                 ["smollm2-135m-instruct", "all-minilm-l6-v2", "piper-en-us-joe",
                                                  "whisper-tiny-en", "e5-small-bi-encoder-rerank"])
        except (RuntimeError, OSError, TimeoutError) as exc:
            log(f"  engines: gateway skipped ({str(exc).splitlines()[0]})")
            return [{"scenario": s.name, "system": "modelport", "skipped": str(exc)[:500]} for s in scenarios]
        for rep in range(opts.repeat):
            for scenario in scenarios:
                direct = [sys.executable, "-m", "bench.engines", "direct", "--task", scenario.task,
                          "--seconds", str(seconds)]
                through = [sys.executable, "-m", "bench.engines", "gateway", "--task", scenario.task,
                           "--seconds", str(seconds), "--url", gw.base_url, "--key", gw.key or ""]
                if scenario.task == "transcribe":  # both sides transcribe the very same recording
                    shared = ["--audio", str(opts.run_dir / "engines" / "paragraph.wav")]
                    direct, through = direct + shared, through + shared
                sides = [("direct", direct, opts.sut_cpus), ("modelport", through, opts.load_cpus)]
                if scenario.task == "chat-concurrency":  # the one-slot engine of before; the shipped weights
                    for mode in ("shipped", "serial"):
                        sides.insert(1, (mode, [sys.executable, "-m", "bench.engines", mode, *direct[4:]],
                                         opts.sut_cpus))
                for system, argv, cpus in sides:
                    result = _engine_json(argv, cpus, seconds * 4 + 180)
                    rows.append({"scenario": scenario.name, "system": system, "rep": rep, **result,
                                 "unit": UNITS[scenario.task]})
                    log(f"  {scenario.name} rep {rep + 1}/{opts.repeat} {system:<9} {result['rate']:8.1f}/s")
    return rows
