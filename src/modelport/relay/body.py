"""Reading request bodies: JSON (whole, bounded) and multipart (spooled to disk past a threshold), and
finding the `model` in either without decoding more than routing needs."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import IO, Any

import msgspec
import orjson
from python_multipart.multipart import MultipartParser, parse_options_header

from modelport.errors import BadRequest, InvalidJSON, PayloadTooLarge

Receive = Callable[[], Awaitable[dict[str, Any]]]
_CHUNK = 64 * 1024


class RoutingFields(msgspec.Struct):
    """The only fields of a JSON body the gateway decodes."""

    model: str | None = None
    stream: bool | None = None


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body exceeds the limit of {limit} bytes.")


async def body_chunks(receive: Receive, limit: int) -> AsyncIterator[bytes]:
    """The request body as it arrives; 413 as soon as it passes `limit`, `ClientGone` on a hang-up."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            yield chunk
        if not message.get("more_body", False):
            return


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, bounded by `limit`."""
    parts = [chunk async for chunk in body_chunks(receive, limit)]
    return parts[0] if len(parts) == 1 else b"".join(parts)


class ClientGone(Exception):
    """The client hung up before its request was read; nothing to answer."""


def routing_fields(body: bytes) -> RoutingFields:
    """`model` and `stream` of a JSON object body; 400 for anything that isn't one."""
    try:
        return msgspec.json.decode(body, type=RoutingFields)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"Invalid request body: {exc}.") from None
    except msgspec.DecodeError as exc:
        raise InvalidJSON(f"Request body is not valid JSON: {exc}.") from None


def with_model(body: bytes, model: str) -> bytes:
    """The JSON body with `model` replaced: the one case where the gateway re-encodes a body."""
    data = orjson.loads(body)
    data["model"] = model
    return orjson.dumps(data)


ROUTING_FORM_FIELDS = (b"model", b"response_format")  # the small text fields the gateway reads


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
        parser = MultipartParser(self.boundary, writer.callbacks())  # type: ignore[arg-type]
        self.file.seek(0)
        while chunk := self.file.read(_CHUNK):
            parser.write(chunk)
        parser.finalize()
        return MultipartBody(out, out.tell(), self.boundary, {**self.fields, **changes}, self.in_memory_limit)

    def close(self) -> None:
        self.file.close()


def multipart_boundary(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise BadRequest("Expected a multipart/form-data body with a boundary.")
    return boundary


async def spool_multipart(receive: Receive, content_type: str, limit: int, in_memory: int) -> MultipartBody:
    """Read a multipart upload into a spooled file while watching for its `model` field."""
    boundary = multipart_boundary(content_type)
    watcher = _FieldWatcher(ROUTING_FORM_FIELDS)
    parser = MultipartParser(boundary, watcher.callbacks())  # type: ignore[arg-type]
    spool = tempfile.SpooledTemporaryFile(max_size=in_memory)
    size = 0
    try:
        async for chunk in body_chunks(receive, limit):
            size += len(chunk)
            spool.write(chunk)
            parser.write(chunk)
        parser.finalize()
    except BaseException:
        spool.close()
        raise
    return MultipartBody(spool, size, boundary, watcher.values(), in_memory)


class _PartTracker:
    """Follows part boundaries and the current part's form-field name."""

    def __init__(self) -> None:
        self.name: bytes | None = None
        self._field = bytearray()
        self._value = bytearray()
        self._headers: list[tuple[bytes, bytes]] = []

    def _on_part_begin(self) -> None:
        self.name = None
        self._headers = []

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        field, value = bytes(self._field), bytes(self._value)
        self._headers.append((field, value))
        if field.lower() == b"content-disposition":
            self.name = parse_options_header(value)[1].get(b"name")
        self._field.clear()
        self._value.clear()

    def base_callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
        }


class _FieldWatcher(_PartTracker):
    """Collects the (first 1 KiB of the) values of a few named text fields."""

    def __init__(self, names: tuple[bytes, ...]) -> None:
        super().__init__()
        self._names = names
        self._values: dict[bytes, bytearray] = {}

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.name in self._names:
            value = self._values.setdefault(self.name, bytearray())  # type: ignore[arg-type]
            if len(value) < 1024:
                value += data[start:end]

    def values(self) -> dict[str, str]:
        return {k.decode(): v.decode("utf-8", "replace").strip() for k, v in self._values.items()}

    def callbacks(self) -> dict[str, Any]:
        return {**self.base_callbacks(), "on_part_data": self._on_part_data}


class _FormWriter(_PartTracker):
    """Writes the parts it is fed back out, replacing the values of the fields in `changes`."""

    def __init__(self, out: IO[bytes], boundary: bytes, changes: dict[bytes, bytes]) -> None:
        super().__init__()
        self._out = out
        self._boundary = boundary
        self._changes = changes

    def _on_headers_finished(self) -> None:
        self._out.write(b"--" + self._boundary + b"\r\n")
        for field, value in self._headers:
            self._out.write(field + b": " + value + b"\r\n")
        self._out.write(b"\r\n")
        if self.name in self._changes:
            self._out.write(self._changes[self.name])  # type: ignore[index]

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.name not in self._changes:
            self._out.write(data[start:end])

    def _on_part_end(self) -> None:
        self._out.write(b"\r\n")

    def _on_end(self) -> None:
        self._out.write(b"--" + self._boundary + b"--\r\n")

    def callbacks(self) -> dict[str, Any]:
        return {
            **self.base_callbacks(),
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        }
