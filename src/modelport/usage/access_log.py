"""The access log: one line per request, JSON or text, written in one `write()` per event-loop turn.

A line holds the time, key id (the public id, never the secret), deployment, endpoint, method, status,
bytes sent, duration, time to the instance's first byte, instance and outcome. Never a header, a query, a
path beyond the route, or any part of a body.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

import orjson

from modelport.usage.record import UsageRecord

MODES = ("json", "text", "off")


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


class _Clock:
    """ISO 8601 UTC times to the millisecond, the seconds part formatted once per second."""

    __slots__ = ("_second", "_stamp")

    def __init__(self) -> None:
        self._second = -1
        self._stamp = ""

    def iso(self, moment: float) -> str:
        second = int(moment)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int((moment - second) * 1000):03d}Z"


def json_line(record: UsageRecord, clock: _Clock | None = None) -> str:
    """The record as one JSON object."""
    return orjson.dumps({
        "time": (clock or _Clock()).iso(record.started_at), "key": record.key_id,
        "deployment": record.deployment, "endpoint": record.endpoint, "method": record.method,
        "status": record.status, "bytes": record.bytes_out, "duration_ms": _ms(record.duration),
        "ttft_ms": _ms(record.ttfb), "instance": record.instance, "outcome": record.final_outcome,
    }).decode()


def text_line(record: UsageRecord, clock: _Clock | None = None) -> str:
    """The record as `key=value` words after the time, status, method and endpoint."""
    ttft = record.ttfb
    return (f"{(clock or _Clock()).iso(record.started_at)} {record.status} {record.method} {record.endpoint} "
            f"key={record.key_id or '-'} deployment={record.deployment or '-'} "
            f"instance={record.instance or '-'} bytes={record.bytes_out} "
            f"duration_ms={record.duration * 1000:.2f} ttft_ms={'-' if ttft is None else f'{ttft * 1000:.2f}'} "
            f"outcome={record.final_outcome}")


class AccessLog:
    """Lines to `stream` (stderr by default), gathered per event-loop turn."""

    def __init__(self, mode: str, stream: TextIO | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"access log mode must be one of {', '.join(MODES)}")
        self.format = json_line if mode == "json" else text_line
        self._clock = _Clock()
        self._stream = stream or sys.stderr
        self._lines: list[str] = []

    def write(self, record: UsageRecord) -> None:
        """Queue the record's line; the lines of one loop turn go out together."""
        if not self._lines:
            asyncio.get_running_loop().call_soon(self.flush)
        self._lines.append(self.format(record, self._clock))

    def flush(self) -> None:
        """Write the queued lines."""
        lines, self._lines = self._lines, []
        if lines:
            self._stream.write("\n".join(lines) + "\n")
            self._stream.flush()
