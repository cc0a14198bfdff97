"""limits: gateway CPU per request with a limited key next to an unlimited one, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.limits --duration 5 --repeat 3      # writes bench/results/limits.{md,json}

One `modelport serve` per store, the lean mock upstream behind it, three keys: one without limits, one with
only a request rate (an admission, nothing to settle), and one with every kind (rpm, tpm, concurrency, a
monthly budget), all far above the load, so nothing is refused and every request is admitted, reserved and
settled. The load (bench/pyload.py, non-streaming chat, c=16) takes the keys in turn each repetition.
CPU is the gateway's process tree from /proc; on PostgreSQL the server's own CPU (its postmaster's tree)
is shown beside it, since the count runs there. The PostgreSQL server comes from tests/postgres_server.py
(a throwaway cluster on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from bench import systems as sysmod
from bench.loadgen import Load, run_load
from bench.procs import ProcessGroup, cpu_seconds, free_port
from bench.runner import start_mock
from bench.scenarios import CHAT_BODY, Scenario

SCENARIO = Scenario("limits", "chat, non-streaming, concurrency 16", "/chat/completions", CHAT_BODY, 16, "pyload")
EVERY_LIMIT = {"rpm": 10**9, "tpm": 10**12, "concurrency": 10**6, "budget": {"tokens": 10**15, "period": "month"}}
KEYS = {"unlimited": None, "rpm only": {"rpm": 10**9}, "limited": EVERY_LIMIT}  # rpm only: nothing to settle
RESULTS = sysmod.REPO / "bench" / "results"


def _api(base: str, admin: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(base + path, json.dumps(body).encode(), method="POST",
                                     headers={"authorization": f"Bearer {admin}", "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())  # type: ignore[no-any-return]


def _postmaster_pid(database_url: str | None, pg_dir: Path | None) -> int | None:
    if database_url is None or pg_dir is None:
        return None
    return int((pg_dir / "data" / "postmaster.pid").read_text().split()[0])


def run_store(store: str, database_url: str | None, pg_dir: Path | None, opts: argparse.Namespace,
              run_dir: Path) -> list[dict[str, Any]]:
    """Both keys on one store, `opts.repeat` times each, interleaved."""
    rows: list[dict[str, Any]] = []
    with ProcessGroup(run_dir / store) as group:
        _, mock_port = start_mock(group, "mock", SCENARIO, opts.load_cpus)
        data_dir = run_dir / store / "data"
        port = free_port()
        store_args = ["--data-dir", str(data_dir)] + (["--database-url", database_url] if database_url else [])
        subprocess.run([str(sysmod.modelport_bin()), "deploy", sysmod.MODEL, "--url",
                        f"http://127.0.0.1:{mock_port}/v1", *store_args], check=True, capture_output=True, timeout=60)
        argv = [str(sysmod.modelport_bin()), "serve", "--port", str(port), *store_args, "--no-defaults",
                "--probe-seconds", "5", "--log-level", "warning", "--access-log", "off"]
        sut = group.start(f"modelport-{store}", argv, opts.sut_cpus)
        system = sysmod._await_modelport(sut, port, data_dir, sysmod.MODEL)
        base = f"http://127.0.0.1:{port}"
        keys = {name: _api(base, system.key or "", "/api/keys", {"name": name, "limits": limits})["key"]
                for name, limits in KEYS.items()}
        postmaster = _postmaster_pid(database_url, pg_dir)
        for rep in range(opts.repeat):
            for name, key in keys.items():
                load = Load(system.base_url + SCENARIO.path, SCENARIO.body, key, SCENARIO.concurrency,
                            opts.duration, "pyload")
                run_load(Load(**{**load.__dict__, "duration": 1.0}), opts.load_cpus, run_dir)
                before, db_before = cpu_seconds(sut.pid), cpu_seconds(postmaster) if postmaster else 0.0
                result = run_load(load, opts.load_cpus, run_dir)
                requests = max(1, int(result["requests"]))
                row = {"store": store, "key": name, "rep": rep, **result,
                       "cpu_us_per_req": (cpu_seconds(sut.pid) - before) / requests * 1e6}
                if postmaster:
                    row["db_cpu_us_per_req"] = (cpu_seconds(postmaster) - db_before) / requests * 1e6
                print(f"  {store:<8} {name:<10} rep {rep + 1}: {row['rps']:7.0f} req/s  "
                      f"gateway {row['cpu_us_per_req']:6.0f} us/req  errors {row.get('errors', 0)}", file=sys.stderr)
                rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """Medians per store and key, and the limited key's cost over the unlimited one's."""
    lines = ["| store | key | req/s | p50 ms | gateway CPU µs/req | database CPU µs/req | errors |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for store in dict.fromkeys(row["store"] for row in rows):
        medians: dict[str, dict[str, float]] = {}
        for key in KEYS:
            mine = [row for row in rows if row["store"] == store and row["key"] == key]
            medians[key] = {field: statistics.median(row.get(field, 0.0) for row in mine)
                            for field in ("rps", "p50_ms", "cpu_us_per_req", "db_cpu_us_per_req", "errors")}
            m = medians[key]
            db = f"{m['db_cpu_us_per_req']:.0f}" if store != "sqlite" else "(in the gateway)"
            lines.append(f"| {store} | {key} | {m['rps']:.0f} | {m['p50_ms']:.2f} | {m['cpu_us_per_req']:.0f} | {db} "
                         f"| {m['errors']:.0f} |")
        base = medians["unlimited"]["cpu_us_per_req"]
        for key in list(KEYS)[1:]:
            added, ratio = medians[key]["cpu_us_per_req"] - base, medians[key]["cpu_us_per_req"] / max(1e-9, base)
            lines.append(f"| {store} | {key} − unlimited | | | +{added:.0f} (x{ratio:.2f}) | | |")
    return "\n".join(lines)


def main() -> int:
    top = argparse.ArgumentParser(prog="python -m bench.limits", description=__doc__.splitlines()[0])
    top.add_argument("--duration", type=float, default=5.0)
    top.add_argument("--repeat", type=int, default=3)
    top.add_argument("--stores", default="sqlite,postgres")
    top.add_argument("--sut-cpus", default="1")
    top.add_argument("--load-cpus", default="0")
    top.add_argument("--out", default=str(RESULTS))
    opts = top.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="modelport-bench-limits-") as tmp:
        for store in opts.stores.split(","):
            if store == "postgres":
                from tests.postgres_server import PostgresServer
                server = PostgresServer()
                try:
                    url = server.start()
                    rows += run_store(store, url, server._dir, opts, Path(tmp))
                finally:
                    server.stop()
            else:
                rows += run_store(store, None, None, opts, Path(tmp))
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "limits.json").write_text(json.dumps(rows, indent=1))
    text = table(rows)
    (out / "limits.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
