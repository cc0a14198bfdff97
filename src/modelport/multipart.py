"""multipart/form-data, read by one bounded parser (python-multipart's streaming one) for the gateway and the
engine worker alike: at most `MAX_PARTS` parts, python-multipart's own bounds on each part's headers (8
headers of at most ~4 KiB), and a body that doesn't parse, or ends before its closing boundary, is a 400.

The gateway spools uploads (to disk past a threshold) and reads only the fields routing needs
(`spool_multipart`); the worker decodes the whole form (`parse_form`).
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from modelport.errors import BadRequest
from modelport.relay.body import body_chunks
from modelport.types import Receive

MAX_PARTS = 256
ROUTING_FORM_FIELDS = (b"model", b"response_format")  # the small text fields the gateway reads
_CHUNK = 64 * 1024


def malformed(reason: str) -> BadRequest:
    return BadRequest(f"Malformed multipart/form-data body: {reason}.", code="invalid_multipart")


def multipart_boundary(content_type: str) -> bytes:
    """The boundary of a `multipart/form-data` Content-Type; 400 when there is none."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise BadRequest("Expected a multipart/form-data body with a boundary.")
    return boundary


class PartTracker:
    """Follows part boundaries and the current part's name and filename; counts parts; notes the end."""

    def __init__(self) -> None:
        self.name: bytes | None = None
        self.filename: bytes | None = None
        self.parts = 0
        self.ended = False
        self._field = bytearray()
        self._value = bytearray()
        self._headers: list[tuple[bytes, bytes]] = []

    def _on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise malformed(f"more than {MAX_PARTS} parts")
        self.name = self.filename = None
        self._headers = []

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        name, value = bytes(self._field), bytes(self._value)
        self._headers.append((name, value))
        if name.lower() == b"content-disposition":
            options = parse_options_header(value)[1]
            self.name, self.filename = options.get(b"name"), options.get(b"filename")
        self._field.clear()
        self._value.clear()

    def _on_end(self) -> None:
        self.ended = True

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_end": self._on_end,
        }


class Feeder:
    """A parser for `boundary` driving `tracker`; parse errors become 400s."""

    def __init__(self, boundary: bytes, tracker: PartTracker) -> None:
        self.tracker = tracker
        try:
            self._parser = MultipartParser(boundary, tracker.callbacks())  # type: ignore[arg-type]
        except ValueError as exc:  # e.g. a boundary longer than RFC 2046's 70 (python-multipart allows 256)
            raise malformed(str(exc)) from None

    def write(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise malformed(str(exc).rstrip(".")) from None

    def finish(self) -> None:
        self._parser.finalize()
        if not self.tracker.ended:
            raise malformed("it ends before its closing boundary")


# --- the gateway: spool, read the routing fields, rewrite some fields ------------------------------------


@dataclass
class MultipartBody:
    """A spooled multipart/form-data upload and the values of the form fields routing needs."""

    file: IO[bytes]
    size: int
    boundary: bytes
    fields: dict[str, str]
    in_memory_limit: int

    @property
    def model(self) -> str | None:
        return self.fields.get("model")

    def payload(self) -> bytes | AsyncIterator[bytes]:
        """Bytes when small, else an async stream of the spooled file (read in chunks, never whole)."""
        self.file.seek(0)
        if self.size <= self.in_memory_limit:
            return self.file.read()
        return self._stream()

    async def _stream(self) -> AsyncIterator[bytes]:
        self.file.seek(0)
        while chunk := self.file.read(_CHUNK):
            yield chunk

    def with_fields(self, changes: dict[str, str]) -> MultipartBody:
        """A copy with some text fields' values replaced, re-serialised with the same boundary."""
        out = tempfile.SpooledTemporaryFile(max_size=self.in_memory_limit)
        writer = _FormWriter(out, self.boundary, {k.encode(): v.encode() for k, v in changes.items()})
        feeder = Feeder(self.boundary, writer)
        self.file.seek(0)
        while chunk := self.file.read(_CHUNK):
            feeder.write(chunk)
        feeder.finish()
        return MultipartBody(out, out.tell(), self.boundary, {**self.fields, **changes}, self.in_memory_limit)

    def close(self) -> None:
        self.file.close()


async def spool_multipart(receive: Receive, content_type: str, limit: int, in_memory: int) -> MultipartBody:
    """Read a multipart upload into a spooled file while watching for its `model` field."""
    boundary = multipart_boundary(content_type)
    watcher = _FieldWatcher(ROUTING_FORM_FIELDS)
    feeder = Feeder(boundary, watcher)
    spool = tempfile.SpooledTemporaryFile(max_size=in_memory)
    size = 0
    try:
        async for chunk in body_chunks(receive, limit):
            size += len(chunk)
            spool.write(chunk)
            feeder.write(chunk)
        feeder.finish()
    except BaseException:
        spool.close()
        raise
    return MultipartBody(spool, size, boundary, watcher.values(), in_memory)


class _FieldWatcher(PartTracker):
    """Collects the (first 1 KiB of the) values of a few named text fields."""

    def __init__(self, names: tuple[bytes, ...]) -> None:
        super().__init__()
        self._names = names
        self._values: dict[bytes, bytearray] = {}

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.name in self._names:
            value = self._values.setdefault(self.name, bytearray())
            if len(value) < 1024:
                value += data[start:end]

    def values(self) -> dict[str, str]:
        return {k.decode(): v.decode("utf-8", "replace").strip() for k, v in self._values.items()}

    def callbacks(self) -> dict[str, Any]:
        return {**super().callbacks(), "on_part_data": self._on_part_data}


class _FormWriter(PartTracker):
    """Writes the parts it is fed back out, replacing the values of the fields in `changes`."""

    def __init__(self, out: IO[bytes], boundary: bytes, changes: dict[bytes, bytes]) -> None:
        super().__init__()
        self._out = out
        self._boundary = boundary
        self._changes = changes

    def _on_headers_finished(self) -> None:
        self._out.write(b"--" + self._boundary + b"\r\n")
        for name, value in self._headers:
            self._out.write(name + b": " + value + b"\r\n")
        self._out.write(b"\r\n")
        if self.name in self._changes:
            self._out.write(self._changes[self.name])

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.name not in self._changes:
            self._out.write(data[start:end])

    def _on_part_end(self) -> None:
        self._out.write(b"\r\n")

    def _on_end(self) -> None:
        super()._on_end()
        self._out.write(b"--" + self._boundary + b"--\r\n")

    def callbacks(self) -> dict[str, Any]:
        return {
            **super().callbacks(),
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        }


# --- the worker: the whole form ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One part of a form: its field name, its filename when it is a file, and its bytes."""

    name: bytes
    filename: bytes | None
    data: bytes


class _Collector(PartTracker):
    """Keeps every part whole."""

    def __init__(self) -> None:
        super().__init__()
        self.parts_read: list[Part] = []
        self._data = bytearray()

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._data += data[start:end]

    def _on_part_end(self) -> None:
        if self.name is None:
            raise malformed("a part has no Content-Disposition name")
        self.parts_read.append(Part(self.name, self.filename, bytes(self._data)))
        self._data.clear()

    def callbacks(self) -> dict[str, Any]:
        return {**super().callbacks(), "on_part_data": self._on_part_data, "on_part_end": self._on_part_end}


def parse_form(body: bytes, content_type: str) -> list[Part]:
    """Every part of a whole multipart/form-data body (already bounded in size by the caller)."""
    collector = _Collector()
    feeder = Feeder(multipart_boundary(content_type), collector)
    feeder.write(body)
    feeder.finish()
    return collector.parts_read
