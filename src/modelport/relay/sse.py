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
