"""Prometheus metrics of one gateway process, named after the OpenTelemetry GenAI conventions where they
have a name (`gen_ai_server_*`, `gen_ai_client_token_usage`, with their advised bucket boundaries).

Labels are bounded: deployments (their own names, never aliases or what a client typed), the route
table's endpoints, status codes, instances (`deployment/ordinal`). Never a key id.

With `--workers N` each process writes its values to files in `PROMETHEUS_MULTIPROC_DIR` (set by
`modelport serve` to a private dir under the data dir before the workers start) and any one of them
answers a scrape with the sum over all (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from modelport.private_files import private_dir
from modelport.usage.record import UsageRecord

# OpenTelemetry GenAI semantic conventions: the ExplicitBucketBoundaries each metric SHOULD use.
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
TPOT_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
ADDED_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UPSTREAM_ERRORS = {"upstream_timeout": "timeout", "upstream_error": "unreachable"}

InstanceStates = Callable[[], Iterable[tuple[str, str]]]  # (deployment, state) of each instance


class _InstancesByState(Collector):
    """`modelport_instances{deployment,state}`, read from the store at scrape time (the same in every
    process, so it is not summed)."""

    def __init__(self, states: InstanceStates) -> None:
        self._states = states

    def collect(self) -> Iterable[Metric]:
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

    def __init__(self, instance_states: InstanceStates) -> None:
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) or None
        self.registry = CollectorRegistry()
        if self.multiprocess_dir is not None:
            MultiProcessCollector(self.registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        own = None if self.multiprocess_dir is not None else self.registry
        self.registry.register(_InstancesByState(instance_states))
        by_route = ["deployment", "endpoint"]
        self.requests = Counter("modelport_requests", "Requests answered, by deployment, endpoint and status.",
                                [*by_route, "status"], registry=own)
        self.duration = Histogram("gen_ai_server_request_duration_seconds", "Request duration (to the last byte).",
                                  by_route, buckets=DURATION_BUCKETS, registry=own)
        self.ttft = Histogram("gen_ai_server_time_to_first_token_seconds",
                              "Time to the instance's first byte of a streamed answer.", by_route,
                              buckets=TTFT_BUCKETS, registry=own)
        self.tpot = Histogram("gen_ai_server_time_per_output_token_seconds",
                              "Time per output token after the first, of streamed answers.", ["deployment"],
                              buckets=TPOT_BUCKETS, registry=own)
        self.token_usage = Histogram("gen_ai_client_token_usage", "Tokens per request, by type (input, output).",
                                     ["deployment", "token_type"], buckets=TOKEN_BUCKETS, registry=own)
        self.tokens = Counter("modelport_tokens", "Tokens in and out.", ["deployment", "token_type"], registry=own)
        self.added = Histogram("modelport_gateway_added_seconds", "Time the gateway added to a relayed request.",
                               ["endpoint"], buckets=ADDED_BUCKETS, registry=own)
        self.upstream_errors = Counter("modelport_upstream_errors", "Upstream failures by kind.",
                                       ["deployment", "kind"], registry=own)
        self.outstanding = Gauge("modelport_instance_outstanding_requests", "Requests in flight per instance.",
                                 ["deployment", "instance"], registry=own, multiprocess_mode="livesum")
        self.dropped = Counter("modelport_usage_records_dropped", "Usage records dropped: the buffer was full.",
                               registry=own)
        self._route_children: dict[tuple[str, str], tuple[Histogram, Histogram]] = {}

    def observe(self, record: UsageRecord) -> None:
        """Count one finished request."""
        deployment = record.deployment or ""
        self.requests.labels(deployment, record.endpoint, str(record.status)).inc()
        children = self._route_children.get((deployment, record.endpoint))
        if children is None:
            children = (self.duration.labels(deployment, record.endpoint), self.ttft.labels(deployment,
                                                                                           record.endpoint))
            self._route_children[(deployment, record.endpoint)] = children
        duration, ttft = children
        duration.observe(record.duration)
        if record.deployment is None:
            return
        self.added.labels(record.endpoint).observe(max(0.0, record.duration - record.upstream_seconds))
        kind = UPSTREAM_ERRORS.get(record.outcome) or ("http_5xx" if record.upstream_status >= 500 else None)
        if kind is not None:
            self.upstream_errors.labels(deployment, kind).inc()
        self._stream_times(record, ttft)
        self._tokens(record, deployment)

    def _stream_times(self, record: UsageRecord, ttft: Histogram) -> None:
        if not record.streamed or record.ttfb is None or record.status >= 400:
            return
        ttft.observe(record.ttfb)
        assert record.first_byte is not None
        if record.units.output_tokens > 1:
            per_token = (record.ended - record.first_byte) / (record.units.output_tokens - 1)
            self.tpot.labels(record.deployment or "").observe(per_token)

    def _tokens(self, record: UsageRecord, deployment: str) -> None:
        for token_type, count in (("input", record.units.input_tokens), ("output", record.units.output_tokens)):
            if count:
                self.token_usage.labels(deployment, token_type).observe(count)
                self.tokens.labels(deployment, token_type).inc(count)

    def set_outstanding(self, counts: Iterable[tuple[str, str, int]]) -> None:
        """Requests in flight through this process, per (deployment, instance)."""
        for deployment, instance, count in counts:
            self.outstanding.labels(deployment, instance).set(count)

    def exposition(self) -> bytes:
        """The text exposition format (blocking: it may read files and the store)."""
        return generate_latest(self.registry)


def prepare_multiprocess_dir(data_dir: Path) -> Path:
    """For `--workers N`: a private, emptied `metrics` dir under the data dir, named in the environment the
    worker processes inherit (prometheus-client reads it when it is first imported there)."""
    folder = data_dir / "metrics"
    private_dir(folder)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder
