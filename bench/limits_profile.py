"""limits-profile: the quota counter alone, one admission and settlement after another, on SQLite and
PostgreSQL: CPU (this process's `time.process_time`) and wall time per request, and with `--profile` where
the CPU goes (cProfile, top functions by own time).

    .venv/bin/python -m bench.limits_profile --requests 2000            # both stores
    .venv/bin/python -m bench.limits_profile --stores sqlite --profile

The key has every kind of limit (rpm, tpm, concurrency, a monthly budget), far above the load, so every
request is admitted, reserved and settled to a smaller count, as in `bench.limits`' "limited" key. One
thread, no gateway: this is the counter's own cost, the part of `bench.limits`' difference it explains.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from modelport.quota.counter import QuotaCounter
from modelport.quota.engine import counter_engine
from modelport.records import ApiKey, Budget, BudgetPeriod, KeyLimits, KeyScope, Limits
from modelport.store import Store

EVERY_LIMIT = KeyLimits(Limits(rpm=10**9, tpm=10**12, concurrency=10**6, budget=Budget(10**15, BudgetPeriod.MONTH)))
RPM_ONLY = KeyLimits(Limits(rpm=10**9))


def _measure(counter: QuotaCounter, key: ApiKey, requests: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per admission + settlement."""
    for _ in range(50):  # warm the connections and the driver's prepared statements
        ticket = counter.admit(key, "", 1000)
        if ticket is not None:
            counter.settle(ticket, 300)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(requests):
        ticket = counter.admit(key, "", 1000)
        if ticket is not None:
            counter.settle(ticket, 300)
    return (time.process_time() - cpu) / requests * 1e6, (time.perf_counter() - wall) / requests * 1e6


def run(store_name: str, url: str, requests: int, profile: bool) -> list[str]:
    """The figures of one store, as table rows (and the profile, when asked)."""
    store = Store.open(url)
    lines = []
    try:
        counter = QuotaCounter(counter_engine(url))
        for name, limits in (("every limit", EVERY_LIMIT), ("rpm only", RPM_ONLY)):
            key = ApiKey(f"k{name[:3]}{store_name[:3]}0000"[:12], name, "0" * 64, KeyScope.INFERENCE, None,
                         datetime.now(UTC), limits=limits)
            store.add_key(key)
            cpu, wall = _measure(counter, key, requests)
            lines.append(f"| {store_name} | {name} | {cpu:.0f} | {wall:.0f} |")
            if profile and name == "every limit":
                profiler = cProfile.Profile(time.process_time)  # CPU, not time spent waiting
                profiler.runcall(_measure, counter, key, requests)
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
                print(f"--- {store_name}, {name}: top functions by own time\n{out.getvalue()}", file=sys.stderr)
        counter.close()
    finally:
        store.close()
    return lines


def main() -> int:
    top = argparse.ArgumentParser(prog="python -m bench.limits_profile", description=__doc__.splitlines()[0])
    top.add_argument("--requests", type=int, default=2000)
    top.add_argument("--stores", default="sqlite,postgres")
    top.add_argument("--profile", action="store_true")
    opts = top.parse_args()
    rows = ["| store | key | CPU µs/request | wall µs/request |", "|---|---|---:|---:|"]
    with tempfile.TemporaryDirectory(prefix="modelport-limits-profile-") as tmp:
        for store in opts.stores.split(","):
            if store == "postgres":
                from tests.postgres_server import PostgresServer
                server = PostgresServer()
                try:
                    rows += run(store, server.start(), opts.requests, opts.profile)
                finally:
                    server.stop()
            else:
                rows += run(store, f"sqlite:///{Path(tmp)}/modelport.db", opts.requests, opts.profile)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
