"""Prometheus metrics of one gateway, named after the OpenTelemetry GenAI conventions where they have a
name (`gen_ai_server_*`, `gen_ai_client_token_usage`, with the bucket boundaries the conventions advise).

Labels are bounded: deployments (their own names, never aliases or what a client typed), the route table's
endpoints, status codes, instances (`deployment/ordinal`). Never a key id.

The numbers are kept by `usage.aggregate` (a dict lookup and an addition per request) and rendered with
prometheus-client at scrape time. With `--workers N`, `modelport serve` names a private dir under the data
dir in `MODELPORT_METRICS_DIR` and any worker answers a scrape with the sum over all of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from modelport.private_files import private_dir
from modelport.usage.aggregate import Aggregate, Family
from modelport.usage.counting import Families, TurnCounter
from modelport.usage.record import UsageRecord

# OpenTelemetry GenAI semantic conventions: the ExplicitBucketBoundaries each metric SHOULD use.
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
TPOT_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
ADDED_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
METRICS_DIR_ENV = "MODELPORT_METRICS_DIR"

InstanceStates = Callable[[], Iterable[tuple[str, str]]]  # (deployment, state) of each instance


class _Collector(Collector):
    """The aggregate's families, and `modelport_instances{deployment,state}` read from the store (the same
    in every process, so not summed)."""

    def __init__(self, aggregate: Aggregate, states: InstanceStates) -> None:
        self._aggregate = aggregate
        self._states = states

    def collect(self) -> Iterator[Metric]:
        yield from self._aggregate.collect()
        family = GaugeMetricFamily("modelport_instances", "Instances by deployment and state.",
                                   labels=["deployment", "state"])
        counts: dict[tuple[str, str], int] = {}
        for key in self._states():
            counts[key] = counts.get(key, 0) + 1
        for (deployment, state), count in sorted(counts.items()):
            family.add_metric([deployment, state], count)
        yield family


class Metrics:
    """The gateway's metrics; `observe(record)` at the end of each request, `exposition()` for a scrape."""

    def __init__(self, instance_states: InstanceStates, shared_dir: Path | None = None) -> None:
        route = ("deployment", "endpoint")
        self.requests = Family("counter", "modelport_requests", "Requests answered, by deployment, endpoint and "
                               "status.", (*route, "status"))
        self.duration = Family("histogram", "gen_ai_server_request_duration_seconds",
                               "Request duration (to the last byte).", route, DURATION_BUCKETS)
        self.ttft = Family("histogram", "gen_ai_server_time_to_first_token_seconds",
                           "Time to the instance's first byte of a streamed answer.", route, TTFT_BUCKETS)
        self.tpot = Family("histogram", "gen_ai_server_time_per_output_token_seconds",
                           "Time per output token after the first, of streamed answers.", ("deployment",),
                           TPOT_BUCKETS)
        self.token_usage = Family("histogram", "gen_ai_client_token_usage", "Tokens per request, by type.",
                                  ("deployment", "token_type"), TOKEN_BUCKETS)
        self.tokens = Family("counter", "modelport_tokens", "Tokens in and out.", ("deployment", "token_type"))
        self.added = Family("histogram", "modelport_gateway_added_seconds",
                            "Time the gateway added to a relayed request.", ("endpoint",), ADDED_BUCKETS)
        self.upstream_errors = Family("counter", "modelport_upstream_errors", "Upstream failures by kind.",
                                      ("deployment", "kind"))
        self.outstanding = Family("gauge", "modelport_instance_outstanding_requests",
                                  "Requests in flight per instance.", ("deployment", "instance"))
        self.client_gone = Family("counter", "modelport_client_gone_requests", "Requests whose client hung up "
                                  "before the end of the answer, by deployment and endpoint.", route)
        self.dropped = Family("counter", "modelport_usage_records_dropped",
                              "Usage records dropped because the buffer was full.")
        self.limited = Family("counter", "modelport_limited_requests", "Requests refused by a key's limits, by "
                              "reason (requests, tokens, concurrency, budget, too_large).", ("reason",))
        self.aggregate = Aggregate([self.requests, self.duration, self.ttft, self.tpot, self.token_usage,
                                    self.tokens, self.added, self.upstream_errors, self.outstanding, self.client_gone,
                                    self.dropped, self.limited], shared_dir)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(self.aggregate, instance_states))
        self._counter = TurnCounter(Families(self.requests, self.duration, self.client_gone, self.added, self.ttft,
                                             self.tpot, self.token_usage, self.tokens, self.upstream_errors))

    def observe_all(self, records: list[UsageRecord], rows: object = None) -> None:
        """Count finished requests (a `UsageLedger` listener: a settled batch at a time)."""
        self._counter.count(records)

    def set_outstanding(self, counts: Iterable[tuple[str, str, int]]) -> None:
        """Requests in flight through this process, per (deployment, instance)."""
        for deployment, instance, count in counts:
            self.outstanding.set((deployment, instance), count)

    def exposition(self) -> bytes:
        """The text exposition format (blocking: it may read files and the store)."""
        return generate_latest(self.registry)


def shared_metrics_dir() -> Path | None:
    """The dir `--workers` processes share their numbers in, when this process is one of them."""
    named = os.environ.get(METRICS_DIR_ENV)
    return Path(named) if named else None


def prepare_multiprocess_dir(data_dir: Path) -> Path:
    """For `--workers N`: a private, emptied `metrics` dir under the data dir, named in the environment the
    worker processes inherit."""
    folder = data_dir / "metrics"
    private_dir(folder)
    for stale in folder.glob("*.json"):
        stale.unlink()
    os.environ[METRICS_DIR_ENV] = str(folder)
    return folder
