"""A streamed chat or completion counts its tokens from its final usage chunk, which an OpenAI-style instance
sends only when asked (`stream_options.include_usage`). When the client did not ask, `ask_for_usage()` adds
the option to the request, and `HiddenUsage` wraps the client's `send` so that the client still gets the
stream it asked for: the usage chunk (empty `choices`, a `usage` object) is dropped, and so is the
`"usage":null` the instance then adds to every other chunk. The usage observer reads the instance's bytes
before this, so the request is counted all the same.

Only event streams are touched (an error answer in JSON passes as it came), only whole events are held
back (nothing waits for more than the rest of its own event), and an event with anything else in it passes.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import orjson

from modelport.types import Send

_FIELDS = msgspec.json.Decoder(dict[str, msgspec.Raw])
_OPTIONS = msgspec.json.Decoder(dict[str, msgspec.Raw] | None)
_TRUE = msgspec.Raw(b"true")
EVENT_LIMIT = 1024 * 1024  # an event longer than this is passed on unread
_EVENT_END = re.compile(rb"\r?\n\r?\n")
_NULL_USAGE = re.compile(rb',\s*"usage"\s*:\s*null\s*}$')


def ask_for_usage(body: bytes) -> bytes | None:
    """`body` (a JSON object with `"stream": true`) asking for the final usage chunk, or None when the client
    asked for it itself (or sent `stream_options` that are not an object: the instance answers that)."""
    try:
        fields = _FIELDS.decode(body)
        options = _OPTIONS.decode(fields["stream_options"]) if "stream_options" in fields else None
    except (msgspec.DecodeError, RecursionError):
        return None
    options = dict(options or {})
    if options.get("include_usage") == _TRUE:
        return None
    options["include_usage"] = _TRUE
    fields["stream_options"] = msgspec.Raw(msgspec.json.encode(options))
    return msgspec.json.encode(fields)


def _header(headers: Any, name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return bytes(value)
    return None


class HiddenUsage:
    """`send` without the usage the client did not ask for (see the module's docstring)."""

    __slots__ = ("_active", "_pending", "_send")

    def __init__(self, send: Send) -> None:
        self._send = send
        self._active = False
        self._pending = b""

    async def __call__(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            headers = message.get("headers", [])
            self._active = (_header(headers, b"content-type") or b"").startswith(b"text/event-stream")
            if self._active and _header(headers, b"content-length") is not None:  # bytes are taken out
                message = {**message, "headers": [(k, v) for k, v in headers if k.lower() != b"content-length"]}
        elif kind == "http.response.body" and self._active:
            more = message.get("more_body", False)
            body = self.feed(message.get("body", b""), more)
            if more and not body:
                return
            message = {"type": kind, "body": body, "more_body": more}
        await self._send(message)

    def feed(self, chunk: bytes, more: bool = True) -> bytes:
        """What of the stream so far may go to the client: whole events, the hidden usage taken out."""
        data = self._pending + chunk if self._pending else chunk
        if not more:
            self._pending = b""
            return self._events(data, final=True)
        lf, crlf = data.rfind(b"\n\n"), data.rfind(b"\n\r\n")
        end = max(lf + 2 if lf >= 0 else 0, crlf + 3 if crlf >= 0 else 0)
        if not end:  # no whole event yet
            if len(data) > EVENT_LIMIT:
                self._pending = b""
                return data
            self._pending = data
            return b""
        self._pending = data[end:]
        return self._events(data[:end], final=False)

    @staticmethod
    def _events(data: bytes, final: bool) -> bytes:
        if b'"usage"' not in data:
            return data
        out, start = [], 0
        for match in _EVENT_END.finditer(data):
            out.append(_shown(data[start:match.start()], data[match.start():match.end()]))
            start = match.end()
        if start < len(data):
            out.append(_shown(data[start:], b"") if final else data[start:])
        return b"".join(out)


def _shown(event: bytes, ending: bytes) -> bytes:
    """One event as the client gets it: nothing for the usage chunk, the rest without `"usage":null`."""
    if b'"usage"' not in event or not event.startswith(b"data:") or b"\n" in event.rstrip(b"\r"):
        return event + ending
    line = event.rstrip(b"\r")
    payload = line[5:].strip()
    if payload.endswith(b"null}") or payload.endswith(b"null }"):
        trimmed = _NULL_USAGE.sub(b"}", payload)
        return event + ending if trimmed == payload else b"data: " + trimmed + ending
    try:
        decoded = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return event + ending
    if isinstance(decoded, dict) and decoded.get("choices") == [] and isinstance(decoded.get("usage"), dict):
        return b""
    return event + ending


STREAMED_USAGE_PATHS = frozenset({"/chat/completions", "/completions"})  # OpenAI's, relative to /v1


def with_usage_asked(body: bytes, send: Send) -> tuple[bytes, Send]:
    """The body and `send` to relay a streamed chat or completion with: asking for its usage and hiding it
    from the client when the client did not ask (`ask_for_usage`, `HiddenUsage`); unchanged otherwise."""
    asked = ask_for_usage(body)
    return (body, send) if asked is None else (asked, HiddenUsage(send))
