"""The access log: one line per request, JSON or text, written in one `write()` for all the requests the
ledger settles together (`UsageLedger.settle`, every few tens of milliseconds).

A line holds the time, key id (the public id, never the secret), deployment, endpoint, method, status,
bytes sent, duration, time to the instance's first byte, instance and outcome. Never a header, a query, a
path beyond the route, or any part of a body.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

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


TEXT = "%s %d %s %s key=%s deployment=%s instance=%s bytes=%d duration_ms=%.2f ttft_ms=%s outcome=%s"


def _text_lines(records: list[UsageRecord], rows: list[tuple[Any, ...]], clock: _Clock) -> list[str]:
    """`text_line` of each record, from its ledger row (the same figures, already worked out)."""
    iso = clock.iso
    return [TEXT % (iso(record.started_at), row[8], record.method, row[7], row[4] or "-", row[5] or "-",
                    row[6] or "-", row[12], row[2], "-" if row[3] is None else f"{row[3]:.2f}", row[11])
            for record, row in zip(records, rows, strict=True)]


class AccessLog:
    """Lines to `stream` (stderr by default), one write per settled batch."""

    def __init__(self, mode: str, stream: TextIO | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"access log mode must be one of {', '.join(MODES)}")
        self.format = json_line if mode == "json" else text_line
        self._text = mode == "text"
        self._clock = _Clock()
        self._stream = stream or sys.stderr

    def write_all(self, records: list[UsageRecord], rows: list[tuple[Any, ...]]) -> None:
        """Write the lines of settled records (a `UsageLedger` listener; `rows` are their ledger rows)."""
        if self._text:
            lines = _text_lines(records, rows, self._clock)
        else:
            lines = [self.format(record, self._clock) for record in records]
        self._stream.write("\n".join(lines) + "\n")
        self._stream.flush()
