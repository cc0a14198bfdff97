"""A small HTTP/1.1 load generator for what wrk cannot see: first-byte latency and SSE events of streams.

Each of `--concurrency` keep-alive connections sends the same POST again and again for `--duration`
seconds (raw asyncio protocol on uvloop, no HTTP library in the way). It records per request: total
latency, time to the first body byte (for SSE, the first event), the `data:` events received and the
socket reads that carried body bytes (events per read near 1 means the relay forwards events as they
arrive rather than batching them). Prints one JSON object on stdout.

Run: `python -m bench.pyload --url http://127.0.0.1:8080/v1/chat/completions --body '{...}' [--key K]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlsplit


@dataclass
class Totals:
    """What all connections measured."""

    latencies: list[float] = field(default_factory=list)
    first_bytes: list[float] = field(default_factory=list)
    events: int = 0
    body_reads: int = 0
    errors: int = 0
    last_done: float = 0.0


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of `values` (0.0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


class Connection(asyncio.Protocol):
    """Sends `request`, reads one response (Content-Length or chunked), repeats until `stop_at`."""

    def __init__(self, request: bytes, totals: Totals, stop_at: float, done: asyncio.Future[None]) -> None:
        self._request = request
        self._totals = totals
        self._stop_at = stop_at
        self._done = done
        self._transport: asyncio.Transport | None = None
        self._reset()

    def _reset(self) -> None:
        self._head = b""
        self._header_seen = False
        self._chunked = False
        self._length = -1
        self._body: list[bytes] = []
        self._received = 0
        self._first = 0.0
        self._started = time.perf_counter()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's is not an asyncio.Transport
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._done.done():
            if self._header_seen or self._head:
                self._totals.errors += 1
            self._done.set_result(None)

    def _send(self) -> None:
        assert self._transport is not None
        self._reset()
        self._transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        if not self._header_seen:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            self._parse_head(self._head[:end])
            data = self._head[end + 4 :]
            if not data:
                return
        if not self._first:
            self._first = time.perf_counter()
        self._totals.body_reads += 1
        self._body.append(data)
        self._received += len(data)
        if self._complete():
            self._finish()

    def _parse_head(self, head: bytes) -> None:
        self._header_seen = True
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        if status != 200:
            self._totals.errors += 1
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                self._length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                self._chunked = True

    def _complete(self) -> bool:
        if self._chunked:
            tail = self._body[-1] if len(self._body[-1]) >= 5 else b"".join(self._body)[-5:]
            return tail.endswith(b"0\r\n\r\n")
        return self._received >= self._length

    def _finish(self) -> None:
        now = time.perf_counter()
        totals = self._totals
        totals.latencies.append(now - self._started)
        totals.first_bytes.append(self._first - self._started)
        totals.events += b"".join(self._body).count(b"data:")
        totals.last_done = now
        if now < self._stop_at:
            self._send()
        else:
            assert self._transport is not None
            self._head, self._header_seen = b"", False  # an orderly close, not a broken response
            self._transport.close()


def build_request(url: str, body: bytes, key: str | None) -> tuple[str, int, bytes]:
    """Host, port and the raw bytes of the POST."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    lines = [
        f"POST {parts.path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Accept: */*",
    ]
    if key:
        lines.append(f"Authorization: Bearer {key}")
    return host, port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def run(url: str, body: bytes, key: str | None, concurrency: int, duration: float) -> dict[str, object]:
    """Drive the load and summarise it."""
    loop = asyncio.get_running_loop()
    host, port, request = build_request(url, body, key)
    totals = Totals()
    started = time.perf_counter()
    stop_at = started + duration
    waits: list[asyncio.Future[None]] = []
    for _ in range(concurrency):
        done: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(partial(Connection, request, totals, stop_at, done), host, port)
        waits.append(done)
    await asyncio.wait_for(asyncio.gather(*waits), timeout=duration + 30)
    return summarise(totals, (totals.last_done or time.perf_counter()) - started)


def summarise(totals: Totals, elapsed: float) -> dict[str, object]:
    """The JSON summary: counts, rates and percentiles in milliseconds."""
    ms = 1000.0
    lat, ttfb = totals.latencies, totals.first_bytes
    return {
        "tool": "pyload",
        "requests": len(lat),
        "errors": totals.errors,
        "duration_s": elapsed,
        "rps": len(lat) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(lat, 50) * ms,
        "p99_ms": percentile(lat, 99) * ms,
        "mean_ms": (sum(lat) / len(lat) * ms) if lat else 0.0,
        "ttfb_p50_ms": percentile(ttfb, 50) * ms,
        "ttfb_p99_ms": percentile(ttfb, 99) * ms,
        "events": totals.events,
        "events_per_s": totals.events / elapsed if elapsed > 0 else 0.0,
        "events_per_read": totals.events / totals.body_reads if totals.body_reads else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", required=True, help="the JSON request body")
    parser.add_argument("--key", default=None, help="sent as Authorization: Bearer")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    coro = run(args.url, args.body.encode(), args.key, args.concurrency, args.duration)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(coro)
    else:
        result = uvloop.run(coro)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
