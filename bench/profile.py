"""py-spy on the gateway under load: where its CPU goes, by frame (inclusive and self).

`python -m bench profile --scenario chat-c64 --seconds 10 [--system modelport-nousage]` starts the mock and
the gateway as a run would, drives the scenario's load, samples the gateway with `py-spy record --format raw`
(installed by `python -m bench setup` into bench/.venvs/tools), and prints the hottest frames. The raw samples stay in
`--out` for a flame graph.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import systems as sysmod
from bench.loadgen import wrk_available
from bench.procs import ProcessGroup, pinned
from bench.runner import RunOptions, start_mock, start_system
from bench.scenarios import Scenario, select

PY_SPY_VENV = sysmod.REPO / "bench" / ".venvs" / "tools"


def py_spy() -> str | None:
    local = PY_SPY_VENV / "bin" / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


IDLE_LEAVES = ("_worker (concurrent/futures/thread.py", "wait (threading.py", "select (selectors.py")


def hottest(raw: Path, top: int = 30) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """Busy samples in total, the `top` frames by inclusive samples, and by self samples. Idle thread-pool
    workers (py-spy cannot always tell they wait) are left out."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        frames = stack.split(";")
        if frames[-1].startswith(IDLE_LEAVES):
            continue
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    return total, inclusive.most_common(top), own.most_common(top)


def load_argv(url: str, body: str, key: str | None, concurrency: int, seconds: float, work: Path) -> list[str]:
    if wrk_available():
        script = work / "profile.lua"
        auth = f'wrk.headers["Authorization"] = "Bearer {key}"\n' if key else ""
        script.write_text(f'wrk.method = "POST"\nwrk.body = [==[{body}]==]\n'
                          f'wrk.headers["Content-Type"] = "application/json"\n{auth}')
        return ["wrk", "-t1", f"-c{concurrency}", f"-d{int(seconds)}s", "-s", str(script), url]
    import sys

    return [sys.executable, "-m", "bench.pyload", "--url", url, "--body", body, "--key", key or "",
            "--concurrency", str(concurrency), "--duration", str(seconds)]


@contextmanager
def serving(scenario_name: str, system: str) -> Iterator[tuple[Scenario, sysmod.System, RunOptions, Path]]:
    """One relay scenario's mock and `system` in front of it, started as a run starts them, in a temporary
    dir; yields (scenario, the system, the run's options, the dir) and stops both after."""
    relay, _ = select(scenario_name)
    if len(relay) != 1:
        raise ValueError("this takes one relay scenario, e.g. chat-c64")
    scenario = relay[0]
    with tempfile.TemporaryDirectory(prefix="modelport-bench-") as tmp, ProcessGroup(Path(tmp)) as group:
        opts = RunOptions(run_dir=Path(tmp))
        _, port = start_mock(group, "mock", scenario, opts.load_cpus)
        yield scenario, start_system(system, group, opts, scenario, port), opts, Path(tmp)


def profile(scenario_name: str, seconds: float, out: Path | None, rate: int = 250, system: str = "modelport",
            native: bool = False) -> str:
    """Profile a modelport system (`modelport`, `modelport-nousage`, `modelport-baseline`) under one relay
    scenario, with C frames too when `native` (e.g. the garbage collector's); returns the report text."""
    spy = py_spy()
    if spy is None:
        raise RuntimeError("py-spy is not installed: run `python -m bench setup`")
    with serving(scenario_name, system) as (scenario, gw, opts, tmp):
        raw = (out or tmp) / f"profile-{scenario.name}.raw"
        raw.parent.mkdir(parents=True, exist_ok=True)
        argv = load_argv(gw.base_url + scenario.path, scenario.body, gw.key, scenario.concurrency, seconds + 3, tmp)
        load = subprocess.Popen(pinned(argv, opts.load_cpus), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            record = [spy, "record", "-p", str(gw.sut.pid), "-d", str(int(seconds)), "-r", str(rate),
                      "-f", "raw", "-o", str(raw), *(["--native"] if native else [])]
            subprocess.run(record, check=True, capture_output=True, timeout=seconds + 60)
        finally:
            load.wait(timeout=seconds + 60)
        return _render(f"{system} under {scenario.name}", raw)


def _render(name: str, raw: Path) -> str:
    total, inclusive, own = hottest(raw)
    lines = [f"py-spy: {name}, {total} busy samples (raw: {raw})", "", "inclusive:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive if total]
    lines += ["", "self:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own if total]
    return "\n".join(lines)
