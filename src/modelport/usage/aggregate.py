"""Counters, gauges and histograms kept as plain numbers per label tuple: a dict lookup and an addition
on the request path (prometheus-client's own metric objects cost tens of microseconds per request there).
They are turned into prometheus-client metric families only when scraped.

With `--workers N` each process writes its numbers to `<dir>/<pid>.json` (every second, and at exit) and
the process that answers a scrape adds up every file: counters and histograms over all processes that ever
ran (a worker that was replaced keeps its counts), gauges over the processes still alive.
"""

from __future__ import annotations

import contextlib
import os
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

Labels = tuple[str, ...]


class Family:
    """One metric: per label tuple, a value (counter, gauge) or bucket counts then the sum (histogram)."""

    __slots__ = ("buckets", "help", "kind", "labelnames", "name", "values")

    def __init__(self, kind: str, name: str, help_text: str, labelnames: Iterable[str] = (),
                 buckets: Iterable[float] = ()) -> None:
        self.kind = kind
        self.name = name
        self.help = help_text
        self.labelnames = tuple(labelnames)
        self.buckets = tuple(buckets)
        self.values: dict[Labels, list[float]] = {}

    def row(self, labels: Labels) -> list[float]:
        """The numbers of `labels`, made at zero on first use (always the same list: callers may keep it)."""
        row = self.values.get(labels)
        if row is None:
            row = self.values[labels] = [0.0] * (len(self.buckets) + 2 if self.kind == "histogram" else 1)
        return row

    def inc(self, labels: Labels, amount: float = 1.0) -> None:
        self.row(labels)[0] += amount

    def set(self, labels: Labels, value: float) -> None:
        self.row(labels)[0] = value

    def observe(self, labels: Labels, value: float) -> None:
        row = self.row(labels)
        row[bisect_left(self.buckets, value)] += 1  # the first bucket whose bound is >= value; last: +Inf
        row[-1] += value

    def family(self, values: dict[Labels, list[float]]) -> Metric:
        """The prometheus-client metric family of `values` (this family's, or summed over processes)."""
        if self.kind == "counter":
            counter = CounterMetricFamily(self.name, self.help, labels=self.labelnames)
            for labels, row in sorted(values.items()):
                counter.add_metric(labels, row[0])
            return counter
        if self.kind == "gauge":
            gauge = GaugeMetricFamily(self.name, self.help, labels=self.labelnames)
            for labels, row in sorted(values.items()):
                gauge.add_metric(labels, row[0])
            return gauge
        histogram = HistogramMetricFamily(self.name, self.help, labels=self.labelnames)
        bounds = [*(_bound(b) for b in self.buckets), "+Inf"]
        for labels, row in sorted(values.items()):
            cumulative, total = [], 0.0
            for bound, count in zip(bounds, row[:-1], strict=True):
                total += count
                cumulative.append((bound, total))
            histogram.add_metric(labels, cumulative, sum_value=row[-1])
        return histogram


def _bound(value: float) -> str:
    return repr(float(value))


class Aggregate:
    """This process's families, and the sum over the processes sharing `shared_dir` when there is one."""

    def __init__(self, families: Iterable[Family], shared_dir: Path | None = None) -> None:
        self.families = {family.name: family for family in families}
        self.shared_dir = shared_dir

    def dump(self) -> None:
        """Write this process's numbers for the others to add (no-op without a shared dir)."""
        if self.shared_dir is None:
            return
        data = {name: [[list(labels), row] for labels, row in family.values.items()]
                for name, family in self.families.items()}
        path = self.shared_dir / f"{os.getpid()}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(orjson.dumps(data))
        os.replace(temporary, path)

    def collect(self) -> Iterator[Metric]:
        """Every family, summed over the processes (blocking: reads files)."""
        if self.shared_dir is None:
            for family in self.families.values():
                yield family.family(family.values)
            return
        self.dump()
        totals: dict[str, dict[Labels, list[float]]] = {name: {} for name in self.families}
        for pid, data in _files(self.shared_dir):
            alive = _alive(pid)
            for name, rows in data.items():
                known = self.families.get(name)
                if known is None or (known.kind == "gauge" and not alive):
                    continue
                for labels, row in rows:
                    into = totals[name].setdefault(tuple(labels), [0.0] * len(row))
                    for index, value in enumerate(row):
                        into[index] += float(value)
        for name, family in self.families.items():
            yield family.family(totals[name])


def _files(folder: Path) -> Iterator[tuple[int, dict[str, list[Any]]]]:
    for path in folder.glob("*.json"):
        with contextlib.suppress(OSError, ValueError, orjson.JSONDecodeError):
            yield int(path.stem), orjson.loads(path.read_bytes())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
