"""A real OTLP/HTTP trace receiver for tests: `POST /v1/traces` with a protobuf `ExportTraceServiceRequest`
(plain or gzip-encoded), decoded with the `opentelemetry-proto` package (the `otel` extra), its spans kept as
`ReceivedSpan`s. Point `OTEL_EXPORTER_OTLP_ENDPOINT` at `url`.
"""

from __future__ import annotations

import gzip
import io
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from modelport.testing.fileserver import ThreadedServer

MAX_BODY = 16 * 1024 * 1024  # an export bigger than this (compressed or not) is refused


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as it arrived: ids in lowercase hex (parent "" for a root), attribute values decoded."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int  # OTLP's SpanKind number (2: server)
    attributes: dict[str, Any]
    status_code: int  # 0 unset, 1 ok, 2 error
    service_name: str
    start_ns: int
    end_ns: int


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in any_value.array_value.values]
    return None if kind is None else getattr(any_value, kind)


class OtlpReceiver(ThreadedServer):
    """Collects the spans exported to it; `wait_for(predicate)` waits until one matches."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/v1/traces", self._traces)
        return app

    async def _traces(self, request: web.Request) -> web.Response:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        body = await request.read()  # aiohttp undoes a declared Content-Encoding itself
        if body[:2] == b"\x1f\x8b":  # still gzip: compressed without saying so
            try:
                body = gzip.GzipFile(fileobj=io.BytesIO(body)).read(MAX_BODY + 1)
            except (OSError, EOFError, zlib.error):
                return web.Response(status=400, text="bad gzip")
            if len(body) > MAX_BODY:
                return web.Response(status=413)
        export = ExportTraceServiceRequest()
        try:
            export.ParseFromString(body)
        except Exception:  # protobuf's DecodeError
            return web.Response(status=400, text="not an ExportTraceServiceRequest")
        received = [span for resource in export.resource_spans for span in _spans_of(resource)]
        with self._lock:
            self.spans.extend(received)
        return web.Response(body=b"", content_type="application/x-protobuf")  # an empty ExportTraceServiceResponse

    def wait_for(self, predicate: Any, timeout: float = 15.0) -> ReceivedSpan:
        """The first received span for which `predicate(span)` holds; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = next((span for span in self.spans if predicate(span)), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"no matching span among {len(self.spans)} received")
            time.sleep(0.05)


def _spans_of(resource_spans: Any) -> list[ReceivedSpan]:
    service = next((_value(kv.value) for kv in resource_spans.resource.attributes if kv.key == "service.name"), "")
    return [
        ReceivedSpan(
            name=span.name, trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
            parent_span_id=span.parent_span_id.hex(), kind=span.kind,
            attributes={kv.key: _value(kv.value) for kv in span.attributes}, status_code=span.status.code,
            service_name=str(service), start_ns=span.start_time_unix_nano, end_ns=span.end_time_unix_nano,
        )
        for scope in resource_spans.scope_spans for span in scope.spans
    ]
