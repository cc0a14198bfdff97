"""Request plumbing shared by every fake endpoint: controls, errors, auth, recording, JSON bodies."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from aiohttp import web

from modelport.testing.faults import DEFAULT_FAULT_AFTER, html_page, parse_fault, spoil_json
from modelport.testing.state import STATE, FakeState, RecordedRequest

Flavor = Literal["openai", "anthropic"]

_OPENAI_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_error",
                 404: "invalid_request_error", 429: "rate_limit_exceeded"}
_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                    529: "overloaded_error"}
_JSON = {"Content-Type": "application/json"}


class FakeHTTPError(Exception):
    """Raised by a handler to answer with an error body in the route's protocol."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


class StreamDropped(Exception):
    """Raised to stop a handler whose stream was ended on purpose: its transport aborted
    (``x-fake-drop-after``) or its body ended early but cleanly (``x-fake-fault: cut``)."""

    def __init__(self, response: web.StreamResponse) -> None:
        super().__init__("stream ended on purpose")
        self.response = response


@dataclass(slots=True, frozen=True)
class Controls:
    """Behaviour asked for by ``x-fake-*`` request headers."""

    status: int | None = None
    delay_ms: float = 0.0
    chunk_delay_ms: float = 0.0
    chunks: int | None = None
    drop_after: int | None = None
    fault: str | None = None  # a kind of ``testing.faults``
    fault_after: int = DEFAULT_FAULT_AFTER

    @classmethod
    def from_headers(cls, headers: Any) -> Controls:
        """Read the controls; absent or malformed headers keep the defaults (cheap when none is set)."""
        raw = [headers.get(name) for name in _CONTROL_HEADERS]
        if raw.count(None) == len(raw):
            return NO_CONTROLS
        *numbers, fault = raw
        status, delay, chunk_delay, chunks, drop_after, fault_after = (_int(value) for value in numbers)
        after = DEFAULT_FAULT_AFTER if fault_after is None else max(0, fault_after)
        return cls(status, float(delay or 0), float(chunk_delay or 0), chunks, drop_after, parse_fault(fault), after)


_CONTROL_HEADERS = ("x-fake-status", "x-fake-delay-ms", "x-fake-chunk-delay-ms", "x-fake-chunks",
                    "x-fake-drop-after", "x-fake-fault-after", "x-fake-fault")
NO_CONTROLS = Controls()


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


@dataclass(slots=True)
class Call:
    """What a guarded handler gets besides the request: state, raw body and controls."""

    state: FakeState
    body: bytes
    controls: Controls

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, or a 400."""
        try:
            data = orjson.loads(self.body)
        except orjson.JSONDecodeError as exc:
            raise FakeHTTPError(400, f"invalid JSON body: {exc}") from None
        if not isinstance(data, dict):
            raise FakeHTTPError(400, "the JSON body must be an object")
        return data

    def model(self, data: dict[str, Any]) -> str:
        """The request's ``model`` (the first served model when absent); 404 when not served."""
        model = data.get("model")
        if model is None:
            return self.state.models[0]
        if not isinstance(model, str) or model not in self.state.models:
            raise FakeHTTPError(404, f"The model `{model}` does not exist.", param="model",
                                code="model_not_found")
        return model


def json_response(payload: Any, status: int = 200) -> web.Response:
    """A JSON response serialised with orjson."""
    return web.Response(body=orjson.dumps(payload), status=status, headers=_JSON)


def error_response(status: int, message: str, flavor: Flavor = "openai", *, param: str | None = None,
                   code: str | None = None) -> web.Response:
    """An error body in OpenAI's or Anthropic's shape."""
    if flavor == "anthropic":
        kind = _ANTHROPIC_TYPES.get(status, "api_error")
        return json_response({"type": "error", "error": {"type": kind, "message": message}}, status)
    kind = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    if status == 401 and code is None:
        code = "invalid_api_key"
    return json_response({"error": {"message": message, "type": kind, "param": param, "code": code}}, status)


Handler = Callable[[web.Request, Call], Awaitable[web.StreamResponse]]
WebHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _authorized(request: web.Request, key: str, flavor: Flavor) -> bool:
    if request.headers.get("Authorization") == f"Bearer {key}":
        return True
    return flavor == "anthropic" and request.headers.get("x-api-key") == key


def _record(request: web.Request, state: FakeState, body: bytes) -> None:
    state.received += 1
    if state.record:
        headers = {k.lower(): v for k, v in request.headers.items()}
        state.requests.append(RecordedRequest(request.method, request.path, request.query_string,
                                              headers, body))


def guarded(handler: Handler, *, flavor: Flavor = "openai", auth: bool = True) -> WebHandler:
    """Wrap ``handler`` with recording, API-key checks, ``x-fake-*`` controls (faults of whole JSON answers
    included, see ``testing.faults``) and error rendering.

    A client that disconnects while the handler runs (cancellation or a reset on write) increments
    ``FakeState.cancelled``.
    """

    async def wrapped(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        body = await request.read()
        _record(request, state, body)
        if auth and state.api_key is not None and not _authorized(request, state.api_key, flavor):
            return error_response(401, "Incorrect API key provided.", flavor)
        controls = Controls.from_headers(request.headers)
        try:
            if controls.delay_ms:
                await asyncio.sleep(controls.delay_ms / 1000)
            if controls.status is not None:
                return error_response(controls.status, f"fake error with status {controls.status}", flavor)
            if controls.fault == "html":
                return html_page()
            response = await handler(request, Call(state, body, controls))
            if controls.fault is not None and isinstance(response, web.Response) and not response.prepared \
                    and response.content_type == "application/json":
                return await spoil_json(request, response, controls.fault)
            return response
        except FakeHTTPError as exc:
            return error_response(exc.status, exc.message, flavor, param=exc.param, code=exc.code)
        except StreamDropped as exc:
            return exc.response
        except (asyncio.CancelledError, ConnectionResetError):
            state.cancelled += 1
            raise

    return wrapped

