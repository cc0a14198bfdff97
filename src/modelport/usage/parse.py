"""Billed units read from an instance's answer as it passes, never by decoding a large body twice.

- Event streams (`SseUsage`): only complete `data:` lines holding a `"usage": {...}` object are decoded
  (OpenAI's final usage chunk, Anthropic's `message_start` and `message_delta`, a Responses API
  `response.completed`); a chunk without one costs a substring search.
- JSON (`JsonUsage`): a small body (up to `WHOLE_LIMIT`) is decoded once at its end; a larger one keeps only
  its tail, where OpenAI-style answers put `usage`, and decodes just that object. Images are counted as
  their `b64_json`/`url` fields pass.
- Units on the request side (speech characters, rerank documents) come from the request body.
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec
import orjson

from modelport.usage.record import Units

WHOLE_LIMIT = 256 * 1024  # JSON bodies up to this size are decoded whole, once
TAIL_BYTES = 16 * 1024  # of a larger body, what is kept to find `usage` in
LINE_LIMIT = 1024 * 1024  # an unfinished SSE line longer than this is given up on
_USAGE = b'"usage"'
_IMAGE_FIELDS = (b'"b64_json"', b'"url"')
_EDGE = max(len(name) for name in _IMAGE_FIELDS) - 1


class UsageParser(Protocol):
    """Sees an answer's body pieces; says what they billed at the end."""

    def feed(self, chunk: bytes) -> None: ...
    def finish(self, into: Units | None = None) -> Units: ...


def has_usage_object(data: bytes) -> bool:
    """Whether `data` holds `"usage"` followed by an object (not `null`)."""
    at = data.find(_USAGE)
    while at >= 0:
        rest = data[at + len(_USAGE): at + len(_USAGE) + 8].lstrip(b" :")
        if rest.startswith(b"{"):
            return True
        at = data.find(_USAGE, at + 1)
    return False


def usage_object(data: Any) -> dict[str, Any] | None:
    """The usage object of a decoded answer or event, wherever its API keeps it."""
    if not isinstance(data, dict):
        return None
    for holder in (data, data.get("message"), data.get("response")):
        if isinstance(holder, dict) and isinstance(usage := holder.get("usage"), dict):
            return usage
    return None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def units_from_usage(usage: dict[str, Any], into: Units) -> None:
    """Set the token (or audio duration) counts that `usage` states; absent fields leave `into` alone."""
    if usage.get("type") == "duration":
        seconds = usage.get("seconds")
        if isinstance(seconds, int | float) and seconds > 0:
            into.audio_seconds = float(seconds)
        return
    prompt = _int(usage.get("prompt_tokens")) or _int(usage.get("input_tokens"))
    if not prompt and "completion_tokens" not in usage and "output_tokens" not in usage:
        prompt = _int(usage.get("total_tokens"))  # embeddings and rerank (Jina) state only the total
    if prompt:
        into.input_tokens = prompt
    completion = _int(usage.get("completion_tokens")) or _int(usage.get("output_tokens"))
    if completion:
        into.output_tokens = completion


class SseUsage:
    """The usage an event stream states; the latest statement of each count wins."""

    __slots__ = ("_pending", "units")

    def __init__(self) -> None:
        self._pending = b""
        self.units = Units()  # what the stream stated so far

    def feed(self, chunk: bytes) -> None:
        data = self._pending + chunk if self._pending else chunk
        end = data.rfind(b"\n")
        if end < 0:
            self._pending = data if len(data) <= LINE_LIMIT else b""
            return
        self._pending = data[end + 1:] if end + 1 < len(data) else b""
        if has_usage_object(data[:end]):
            self._lines(data[:end])

    def _lines(self, data: bytes) -> None:
        for line in data.split(b"\n"):
            if line.startswith(b"data:") and has_usage_object(line):
                try:
                    usage = usage_object(orjson.loads(line[5:]))
                except orjson.JSONDecodeError:
                    continue
                if usage is not None:
                    units_from_usage(usage, self.units)

    def finish(self, into: Units | None = None) -> Units:
        """The units the stream stated, added to `into` when given."""
        if self._pending:
            self.feed(b"\n")
        if into is None:
            return self.units
        into.add(self.units)
        return into


class JsonUsage:
    """The usage (and the images) of a JSON answer."""

    __slots__ = ("_count_images", "_edge", "_images", "_parts", "_size")

    def __init__(self, count_images: bool = False) -> None:
        self._parts: list[bytes] = []
        self._size = 0
        self._count_images = count_images
        self._images = 0
        self._edge = b""  # the end of the previous piece, so a field split across pieces is still seen

    def feed(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._count_images:  # each field counted once, when its last byte arrives
            edge, window = self._edge, self._edge + chunk
            self._images += sum(window.count(name) - edge.count(name) for name in _IMAGE_FIELDS)
            self._edge = window[-_EDGE:]
        self._parts.append(chunk)
        if self._size > WHOLE_LIMIT:
            tail = b"".join(self._parts)[-TAIL_BYTES:]
            self._parts = [tail]

    def finish(self, into: Units | None = None) -> Units:
        """The units the answer stated (set in `into` when given: a request's first answer)."""
        units = Units() if into is None else into
        units.images += self._images
        body = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        if self._size <= WHOLE_LIMIT:
            return json_units(body, units)
        usage = _usage_in_tail(body)
        if usage is not None:
            units_from_usage(usage, units)
        return units


def json_units(body: bytes, into: Units) -> Units:
    """Set in `into` what a whole JSON answer (up to `WHOLE_LIMIT`) bills; returns `into`."""
    try:  # the fields that bill, typed, everything else skipped: no dicts made
        _from_fields(_ANSWER.decode(body), into)
        return into
    except (msgspec.DecodeError, RecursionError):
        pass  # not that shape (a list, a string count, ...): decode it whole and look
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return into
    _from_answer(decoded, into)
    return into


class _Counts(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    type: str | None = None
    seconds: float | None = None


class _Holder(msgspec.Struct):
    usage: _Counts | None = None


class _Answer(msgspec.Struct):
    """Where JSON answers state what they billed (as `usage_object` and `_from_answer` look for it)."""

    usage: _Counts | None = None
    message: _Holder | None = None
    response: _Holder | None = None
    duration: float | None = None


_ANSWER = msgspec.json.Decoder(_Answer)


def _positive(value: float | None) -> Any:
    return value if value is not None and value > 0 else 0


def _from_fields(answer: _Answer, into: Units) -> None:
    """`units_from_usage` and `_from_answer` on the typed fields."""
    usage = answer.usage
    for holder in (answer.message, answer.response):
        if usage is None and holder is not None:
            usage = holder.usage
    if usage is not None:
        if usage.type == "duration":
            if usage.seconds is not None and usage.seconds > 0:
                into.audio_seconds = float(usage.seconds)
        else:
            prompt = _positive(usage.prompt_tokens) or _positive(usage.input_tokens)
            if not prompt and usage.completion_tokens is None and usage.output_tokens is None:
                prompt = _positive(usage.total_tokens)  # embeddings and rerank (Jina) state only the total
            if prompt:
                into.input_tokens = prompt
            completion = _positive(usage.completion_tokens) or _positive(usage.output_tokens)
            if completion:
                into.output_tokens = completion
    if not into.audio_seconds and answer.duration is not None and answer.duration > 0:
        into.audio_seconds = float(answer.duration)


def _from_answer(decoded: Any, units: Units) -> None:
    usage = usage_object(decoded)
    if usage is not None:
        units_from_usage(usage, units)
    if isinstance(decoded, dict):
        duration = decoded.get("duration")  # verbose_json transcriptions
        if not units.audio_seconds and isinstance(duration, int | float) and duration > 0:
            units.audio_seconds = float(duration)


def _usage_in_tail(tail: bytes) -> dict[str, Any] | None:
    """The last `"usage": {...}` object in `tail`, decoded alone (it holds only numbers and short strings)."""
    at = tail.rfind(_USAGE)
    start = tail.find(b"{", at) if at >= 0 else -1
    if start < 0:
        return None
    depth = 0
    for index in range(start, len(tail)):
        byte = tail[index]
        depth += (byte == 0x7B) - (byte == 0x7D)
        if depth == 0:
            try:
                found = orjson.loads(tail[start:index + 1])
            except orjson.JSONDecodeError:
                return None
            return found if isinstance(found, dict) else None
    return None


class _SpeechInput(msgspec.Struct):
    input: str = ""


class _RerankInput(msgspec.Struct):
    documents: list[msgspec.Raw] = []


REQUEST_UNIT_PATHS = ("/audio/speech", "/rerank")  # where `request_units` finds anything


def request_units(path: str, body: object) -> Units:
    """Units billed on the request side: speech input characters, rerank documents."""
    units = Units()
    if not isinstance(body, bytes):
        return units
    try:
        if path.endswith("/audio/speech"):
            units.characters = len(msgspec.json.decode(body, type=_SpeechInput).input)
        elif path.endswith("/rerank"):
            units.documents = len(msgspec.json.decode(body, type=_RerankInput).documents)
    except msgspec.DecodeError:
        pass
    return units
