"""The usage ledger's soak (issue 15): a fixed rate of chat requests through one gateway for a long while,
reporting the gateway's RSS and the ledger's rows over time.

`python -m bench soak --rate 200 --minutes 10` starts the mock upstream and `modelport serve` as a run
does (same placement), sends `--rate` requests a second (half of them streamed without
`stream_options`, so the gateway asks for their usage) from an open-loop client (a request leaves on
schedule whether or not earlier ones finished, at most 256 in flight), and every `--every` seconds notes
the gateway's RSS (VmRSS over its process tree) and the ledger's raw rows (read from the SQLite file).
At the end it waits for the last flush and checks that the rows equal the requests answered, and that
the RSS of the last sample is within 10% of the one after the first minute. Writes
`bench/results/soak.{json,md}` (or `--out`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import systems as sysmod
from bench.procs import ProcessGroup, tree_memory_mb
from bench.runner import RunOptions, start_mock
from bench.scenarios import CHAT_BODY, STREAM_BODY, select

MAX_IN_FLIGHT = 256
RSS_GROWTH_LIMIT = 0.10  # the last sample's RSS may exceed the first minute's by this much


@dataclass
class Sample:
    """One look at the gateway: seconds since the start, requests sent and answered, RSS, ledger rows."""

    at: float
    sent: int
    answered: int
    rss_mb: float
    rows: int


@dataclass
class Soak:
    """What the client counted."""

    sent: int = 0
    answered: int = 0
    failed: int = 0
    samples: list[Sample] = field(default_factory=list)


def rss_mb(pid: int) -> float:
    """Sum of VmRSS over `pid`'s tree, in MiB."""
    return tree_memory_mb(pid, "VmRSS")


def ledger_rows(database: Path) -> int:
    """Chat rows in the gateway's usage ledger (a read-only look at its SQLite file)."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        query = "SELECT count(*) FROM usage_records WHERE endpoint = '/v1/chat/completions'"
        return int(connection.execute(query).fetchone()[0])
    finally:
        connection.close()


async def _one(client: httpx.AsyncClient, url: str, body: bytes, soak: Soak, gate: asyncio.Semaphore) -> None:
    try:
        answer = await client.post(url, content=body, headers={"content-type": "application/json"})
        if answer.status_code == 200:
            soak.answered += 1
        else:
            soak.failed += 1
    except httpx.HTTPError:
        soak.failed += 1
    finally:
        gate.release()


async def _drive(url: str, key: str, rate: float, seconds: float, every: float, pid: int, database: Path) -> Soak:
    soak = Soak()
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {key}"}, limits=limits, timeout=60) as client:
        loop = asyncio.get_running_loop()
        start = loop.time()
        next_sample, tasks = start + every, set()
        while (now := loop.time()) < start + seconds:
            due = start + soak.sent / rate
            if due > now:
                await asyncio.sleep(due - now)
            await gate.acquire()
            body = STREAM_BODY.encode() if soak.sent % 2 else CHAT_BODY.encode()
            task = asyncio.create_task(_one(client, url, body, soak, gate))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            soak.sent += 1
            if loop.time() >= next_sample:
                next_sample += every
                soak.samples.append(Sample(round(loop.time() - start, 1), soak.sent, soak.answered, rss_mb(pid),
                                           await asyncio.to_thread(ledger_rows, database)))
        await asyncio.gather(*tasks)
    return soak


def run_soak(rate: float, minutes: float, every: float, flush_wait: float = 5.0) -> dict[str, Any]:
    """The soak, as a summary with every sample."""
    scenario = select("chat-c1")[0][0]
    with tempfile.TemporaryDirectory(prefix="modelport-soak-") as tmp, ProcessGroup(Path(tmp)) as group:
        opts = RunOptions(run_dir=Path(tmp))
        _, port = start_mock(group, "mock", scenario, opts.load_cpus)
        gw = sysmod.start_modelport(group, Path(tmp), port, opts.sut_cpus)
        database = Path(tmp) / "modelport-data-w1" / "modelport.db"
        soak = asyncio.run(_drive(gw.base_url + scenario.path, gw.key or "", rate, minutes * 60, every,
                                  gw.sut.pid, database))
        time.sleep(flush_wait)  # the ledger writes every 2 s
        rows = ledger_rows(database)
        final_rss = rss_mb(gw.sut.pid)
    after_minute = next((s.rss_mb for s in soak.samples if s.at >= 60), soak.samples[0].rss_mb if soak.samples
                        else final_rss)
    growth = (final_rss - after_minute) / after_minute if after_minute else 0.0
    return {"rate": rate, "minutes": minutes, "sent": soak.sent, "answered": soak.answered, "failed": soak.failed,
            "ledger_rows": rows, "rows_equal_answered": rows == soak.answered, "rss_after_first_minute_mb":
            round(after_minute, 1), "rss_final_mb": round(final_rss, 1), "rss_growth": round(growth, 4),
            "rss_flat": growth <= RSS_GROWTH_LIMIT, "samples": [vars(sample) for sample in soak.samples]}


def markdown(summary: dict[str, Any]) -> str:
    """The soak as a short report: the verdicts, then each sample."""
    lines = [f"Soak: {summary['rate']:g} req/s for {summary['minutes']:g} min (half streamed without "
             "stream_options), one gateway on SQLite.", "",
             f"- sent {summary['sent']:,}, answered {summary['answered']:,}, failed {summary['failed']:,}; "
             f"ledger rows {summary['ledger_rows']:,}: "
             f"{'equal to the answered requests' if summary['rows_equal_answered'] else 'NOT equal'}",
             f"- RSS after the first minute {summary['rss_after_first_minute_mb']} MiB, at the end "
             f"{summary['rss_final_mb']} MiB ({100 * summary['rss_growth']:+.1f}%): "
             f"{'flat' if summary['rss_flat'] else 'GROWING'} (limit +{100 * RSS_GROWTH_LIMIT:.0f}%)", "",
             "| s | sent | answered | RSS MiB | ledger rows |", "|---:|---:|---:|---:|---:|"]
    lines += [f"| {s['at']} | {s['sent']:,} | {s['answered']:,} | {s['rss_mb']:.1f} | {s['rows']:,} |"
              for s in summary["samples"]]
    return "\n".join(lines) + "\n"
