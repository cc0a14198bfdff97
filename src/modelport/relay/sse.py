"""Server-sent events: the one place that looks inside a relayed stream, and only when it must."""

from __future__ import annotations

import orjson

from modelport.errors import ModelportError


def openai_error_event(error: ModelportError) -> bytes:
    """How an error that happens after an OpenAI stream began reaches the client."""
    return b"data: " + error.openai_body() + b"\n\n"


def anthropic_error_event(error: ModelportError) -> bytes:
    return b"event: error\ndata: " + error.anthropic_body() + b"\n\n"


def rename_model_in_json(body: bytes, model: str) -> bytes:
    """A JSON object body with a top-level `model` set to `model`; anything else unchanged."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if isinstance(data, dict) and "model" in data:
        data["model"] = model
        return orjson.dumps(data)
    return body


class SseModelRenamer:
    """Rewrites `model` in each `data:` event of a stream, keeping every other byte and the framing.

    Used only when a deployment's served name differs from the upstream's model id. Bytes are released
    line by line, so chunks still go out as they arrive."""

    def __init__(self, model: str) -> None:
        self._model = model
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._pending + chunk
        cut = data.rfind(b"\n") + 1
        self._pending = data[cut:]
        if not cut:
            return b""
        return b"\n".join(self._line(line) for line in data[:cut].split(b"\n"))

    def flush(self) -> bytes:
        rest, self._pending = self._pending, b""
        return self._line(rest)

    def _line(self, line: bytes) -> bytes:
        if not line.startswith(b"data:"):
            return line
        ending = b"\r" if line.endswith(b"\r") else b""
        payload = line[5:].strip()
        if not payload.startswith(b"{"):
            return line
        return b"data: " + rename_model_in_json(payload, self._model) + ending


class SseReader:
    """A tolerant reader of an event stream: feed it bytes as they come, get each event's data back.

    Handles `\\n`, `\\r\\n` and `\\r` line ends, several `data:` lines per event, comments, and events split
    across chunks in any place."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buffer += chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        events: list[bytes] = []
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            if not line:
                if self._data:
                    events.append(b"\n".join(self._data))
                    self._data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                self._data.append(value[1:] if value.startswith(b" ") else value)
        return events

    def close(self) -> list[bytes]:
        """Whatever a stream that ended without a final blank line left behind."""
        events = self.feed(b"\n\n") if self._buffer or self._data else []
        return events
