"""multipart/form-data parsing over an already-read body, with aiohttp's own multipart reader."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import BodyPartReader, MultipartReader
from multidict import CIMultiDictProxy

from modelport.testing.wire import FakeHTTPError


class _BytesContent:
    """The part of ``aiohttp.StreamReader``'s interface that ``MultipartReader`` uses, over bytes.

    The body was read once for recording, so the request's own stream is spent; this replays it.
    """

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def at_eof(self) -> bool:
        return self._pos >= len(self._data)

    async def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._pos + n
        chunk = self._data[self._pos:end]
        self._pos += len(chunk)
        return chunk

    async def readline(self, *, max_line_length: int | None = None) -> bytes:
        end = self._data.find(b"\n", self._pos)
        end = len(self._data) if end < 0 else end + 1
        chunk = self._data[self._pos:end]
        self._pos = end
        return chunk

    def unread_data(self, data: bytes) -> None:
        self._pos -= len(data)


@dataclass(slots=True)
class FormField:
    """One form field: its bytes, and for a file its name and content type."""

    data: bytes
    filename: str | None = None
    content_type: str | None = None

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


async def read_form(headers: CIMultiDictProxy[str], body: bytes) -> dict[str, FormField]:
    """Parse a multipart body into fields by name (a repeated name keeps its first value)."""
    if not headers.get("Content-Type", "").startswith("multipart/"):
        raise FakeHTTPError(400, "expected a multipart/form-data body")
    reader = MultipartReader(headers, _BytesContent(body))  # type: ignore[arg-type]
    fields: dict[str, FormField] = {}
    try:
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader) and part.name:
                data = await part.read(decode=True)
                field = FormField(bytes(data), part.filename, part.headers.get("Content-Type"))
                fields.setdefault(part.name, field)
    except (ValueError, AssertionError) as exc:
        raise FakeHTTPError(400, f"malformed multipart body: {exc}") from None
    return fields
