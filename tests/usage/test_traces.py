"""Traces (the `otel` extra): a live gateway exports one span per request to a real OTLP/HTTP receiver,
continuing the client's trace and handing the instance a `traceparent` of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from modelport.testing import FakeUpstream
from modelport.testing.otlp import OtlpReceiver  # it decodes with opentelemetry-proto, imported when serving
from modelport.usage.tracing import build_tracing, wanted
from tests.harness import LiveGateway, last_request

pytest.importorskip("opentelemetry.sdk.trace", reason="the otel extra is not installed")

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        assert isinstance(running, OtlpReceiver)
        yield running


@pytest.fixture
def traced(tmp_path: Path, fake: FakeUpstream, receiver: OtlpReceiver,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveGateway]:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)  # the gateway's process inherits these
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "modelport-under-test")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")  # the receiver takes both
    with LiveGateway(tmp_path / "gw") as live:
        live.deploy("traced", [fake.url], upstream_model="fake-model", aliases=["traced-alias"])
        yield live


def test_a_request_span_continues_the_client_trace(traced: LiveGateway, fake: FakeUpstream,
                                                    receiver: OtlpReceiver) -> None:
    marker = uuid.uuid4().hex
    answer = httpx.post(traced.v1 + "/chat/completions", timeout=30, headers={
        "authorization": f"Bearer {traced.admin_key}",
        "traceparent": f"00-{TRACE_ID}-{CLIENT_SPAN}-01", "x-test-marker": marker,
    }, json={"model": "traced-alias", "messages": [{"role": "user", "content": "trace me"}]})
    assert answer.status_code == 200, answer.text
    usage = answer.json()["usage"]

    span = receiver.wait_for(lambda s: s.trace_id == TRACE_ID and s.attributes.get("http.route") ==
                             "/v1/chat/completions")
    assert span.parent_span_id == CLIENT_SPAN and span.kind == 2  # a server span, child of the client's
    assert span.name == "chat traced" and span.service_name == "modelport-under-test"
    attributes = span.attributes
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "traced-alias"  # what the client named; its deployment beside
    assert attributes["modelport.deployment"] == "traced"
    assert attributes["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
    assert attributes["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
    assert attributes["http.response.status_code"] == 200
    assert attributes["server.address"] == "127.0.0.1" and attributes["server.port"] == fake.port
    assert span.end_ns > span.start_ns

    upstream = next(r for r in reversed(fake.requests) if r.headers.get("x-test-marker") == marker)
    version, trace_id, parent, flags = upstream.headers["traceparent"].split("-")
    assert (version, trace_id, parent, flags) == ("00", TRACE_ID, span.span_id, "01")  # the instance: our child


def test_a_request_without_trace_context_starts_a_trace(traced: LiveGateway, fake: FakeUpstream,
                                                        receiver: OtlpReceiver) -> None:
    answer = httpx.post(traced.v1 + "/embeddings", headers={"authorization": f"Bearer {traced.admin_key}"},
                        json={"model": "traced", "input": "one two three"}, timeout=30)
    assert answer.status_code == 200, answer.text
    span = receiver.wait_for(lambda s: s.attributes.get("http.route") == "/v1/embeddings")
    assert span.parent_span_id == "" and span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.usage.input_tokens"] == answer.json()["usage"]["prompt_tokens"]
    sent = last_request(fake, "/v1/embeddings").headers["traceparent"]
    assert sent.split("-")[1:3] == [span.trace_id, span.span_id]


def test_traces_are_off_without_the_otel_variables() -> None:
    assert not wanted({}) and build_tracing({}) is None
    assert not wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"})
    assert not wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "none"})
    assert wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces"})
    assert wanted({"OTEL_TRACES_EXPORTER": "otlp"})
    grpc = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    assert build_tracing(grpc) is None  # http/protobuf only: off rather than sending to the wrong port


def test_untraced_gateway_passes_the_client_traceparent_as_it_came(gateway: LiveGateway,
                                                                   fake: FakeUpstream) -> None:
    marker = uuid.uuid4().hex
    traceparent = f"00-{TRACE_ID}-{CLIENT_SPAN}-01"
    answer = httpx.post(gateway.v1 + "/chat/completions", timeout=30, headers={
        "authorization": f"Bearer {gateway.admin_key}", "traceparent": traceparent, "x-test-marker": marker,
    }, json={"model": "fake-model", "messages": [{"role": "user", "content": "no traces here"}]})
    assert answer.status_code == 200
    upstream = next(r for r in reversed(fake.requests) if r.headers.get("x-test-marker") == marker)
    assert upstream.headers["traceparent"] == traceparent
