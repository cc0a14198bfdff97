"""Traces (the optional `otel` extra): one OpenTelemetry span per request, with the GenAI conventions'
attributes, continuing the client's `traceparent` and handing the instance one of its own.

Configured by the standard variables only. Tracing is on when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
`OTEL_EXPORTER_OTLP_ENDPOINT` is set (or `OTEL_TRACES_EXPORTER=otlp`, for the SDK's default endpoint), and
off when none is, with `OTEL_SDK_DISABLED=true`, with `OTEL_TRACES_EXPORTER=none`, or without the extra
installed (then a warning says which extra to install). Spans go out as OTLP over HTTP/protobuf; the SDK
reads the rest itself: headers, timeout, compression, `OTEL_SERVICE_NAME` (default `modelport`),
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`, the batch processor's `OTEL_BSP_*`.

A span is built from what the request's usage record already holds when it ends; only its start (the
client's trace context, our span id for the instance's `traceparent`) happens as the request begins. Off,
it costs nothing but the `UsageRecord.trace is None` tests on the request's path.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span

    from modelport.usage.record import UsageRecord

log = logging.getLogger(__name__)

# gen_ai.operation.name per endpoint: the conventions' names where they have one, our own words elsewhere.
OPERATIONS = {
    "/v1/chat/completions": "chat", "/v1/messages": "chat", "/v1/responses": "chat",
    "/v1/completions": "text_completion", "/v1/embeddings": "embeddings", "/v1/rerank": "rerank",
    "/v2/rerank": "rerank", "/v1/images/generations": "image_generation", "/v1/images/edits": "image_edit",
    "/v1/audio/speech": "speech", "/v1/audio/transcriptions": "transcription",
    "/v1/audio/translations": "translation", "/v1/messages/count_tokens": "count_tokens",
}
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
_CONTEXT_HEADERS = (b"traceparent", b"tracestate")


def wanted(env: Mapping[str, str]) -> bool:
    """Whether the `OTEL_*` variables in `env` ask for traces."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = [name.strip().lower() for name in env.get("OTEL_TRACES_EXPORTER", "").split(",") if name.strip()]
    if "none" in exporters:
        return False
    return "otlp" in exporters or any(env.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def build_tracing(env: Mapping[str, str]) -> Tracing | None:
    """The tracing `env` asks for, or None (off: not asked, another protocol, or the extra missing)."""
    if not wanted(env):
        return None
    protocol = next((env[name].strip() for name in PROTOCOL_VARIABLES if env.get(name, "").strip()), "")
    if protocol not in ("", "http/protobuf"):
        log.warning("traces are off: OTLP over %s was asked for, and modelport exports http/protobuf only", protocol)
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        log.warning("traces are off: OTEL_* asks for them but the `otel` extra is missing "
                    "(pip install 'modelport[otel]'): %s", exc)
        return None
    resource = Resource.create()  # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "modelport"}))
    provider = TracerProvider(resource=resource)  # its sampler from OTEL_TRACES_SAMPLER
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # the exporter reads OTEL_EXPORTER_OTLP_*
    return Tracing(provider)


class Tracing:
    """Starts a span per request (`start`) and hands spans to the exporter; `close()` flushes them."""

    def __init__(self, provider: TracerProvider) -> None:
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self._provider = provider
        self._tracer = provider.get_tracer("modelport")
        self._propagator = TraceContextTextMapPropagator()

    def start(self, record: UsageRecord, headers: Iterable[tuple[bytes, bytes]]) -> RequestSpan:
        """The span of `record`'s request, a child of the client's trace context when it sent one."""
        from opentelemetry.trace import SpanKind

        carrier = {name.decode("latin-1"): value.decode("latin-1") for name, value in headers
                   if name in _CONTEXT_HEADERS}
        parent = self._propagator.extract(carrier) if carrier else None
        name = OPERATIONS.get(record.endpoint, f"{record.method} {record.endpoint}")
        span = self._tracer.start_span(name, context=parent, kind=SpanKind.SERVER,
                                       start_time=int(record.started_at * 1e9))
        return RequestSpan(span)

    def close(self) -> None:
        """Export what is left (blocking, bounded by the exporter's timeout) and stop the exporter."""
        self._provider.shutdown()


class RequestSpan:
    """One request's span: the `traceparent` for its instance now, its attributes when it ends."""

    __slots__ = ("instance_url", "requested_model", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.instance_url: str | None = None  # the instance that answered, for server.address
        self.requested_model: str | None = None  # what the client named in `model` (an alias or the name)

    def upstream_headers(self) -> dict[bytes, bytes]:
        """The trace context to send the instance: its parent is this span (replacing the client's own)."""
        context = self.span.get_span_context()
        headers = {b"traceparent": b"00-%032x-%016x-%02x" % (context.trace_id, context.span_id,
                                                             int(context.trace_flags))}
        state = context.trace_state.to_header()
        if state:
            headers[b"tracestate"] = state.encode("latin-1")
        return headers

    def end(self, record: UsageRecord) -> None:
        """Set what the record says of the request and end the span at its end. Never raises."""
        try:
            self._end(record)
        except Exception:
            log.exception("ending the span of a request failed")

    def _end(self, record: UsageRecord) -> None:
        from opentelemetry.trace import Status, StatusCode

        span = self.span
        operation = OPERATIONS.get(record.endpoint)
        if operation is not None and record.deployment is not None:
            span.update_name(f"{operation} {record.deployment}")
        span.set_attributes(attributes(record, operation, self.instance_url, self.requested_model))
        if record.status >= 500 or record.status == 0:
            span.set_status(Status(StatusCode.ERROR, record.final_outcome))
        span.end(end_time=int((record.started_at + record.duration) * 1e9))


def attributes(record: UsageRecord, operation: str | None, instance_url: str | None,
               requested_model: str | None = None) -> dict[str, Any]:
    """A request's span attributes: HTTP's and the GenAI conventions' names, then modelport's own."""
    found: dict[str, Any] = {"http.request.method": record.method, "http.route": record.endpoint,
                             "modelport.outcome": record.final_outcome, "modelport.streamed": record.streamed}
    if record.status:
        found["http.response.status_code"] = record.status
    if record.status >= 500 or record.status == 0:
        found["error.type"] = str(record.status) if record.status else record.final_outcome
    if operation is not None:
        found["gen_ai.operation.name"] = operation
    if record.key_id is not None:
        found["modelport.key_id"] = record.key_id  # the public id, as in the access log; never the secret
    if record.deployment is not None:
        found["gen_ai.request.model"] = requested_model or record.deployment
        found["modelport.deployment"] = record.deployment  # what an alias resolved to
        units = record.units
        if units.input_tokens:
            found["gen_ai.usage.input_tokens"] = units.input_tokens
        if units.output_tokens:
            found["gen_ai.usage.output_tokens"] = units.output_tokens
    if record.instance is not None:
        found["modelport.instance"] = record.instance
    if instance_url is not None:
        parts = urlsplit(instance_url)
        if parts.hostname:
            found["server.address"] = parts.hostname
            found["server.port"] = parts.port or (443 if parts.scheme == "https" else 80)
    if record.ttfb is not None:
        found["modelport.time_to_first_byte_ms"] = round(record.ttfb * 1000, 3)
    return found
