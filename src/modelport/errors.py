"""One error tree for the whole gateway; each error knows its status and renders per protocol.

    ModelportError                     500 api_error
    ├── BadRequest                     400 invalid_request_error
    │   ├── InvalidJSON
    │   └── MissingModel
    ├── AuthenticationFailed           401 authentication_error
    ├── PermissionDenied               403 permission_error
    ├── NotFound                       404 not_found_error
    │   └── ModelNotFound
    ├── MethodNotAllowed               405 invalid_request_error (with Allow)
    ├── RequestTimeout                 408 invalid_request_error
    ├── Conflict                       409 invalid_request_error
    ├── PayloadTooLarge                413 request_too_large
    ├── UnsupportedMediaType           415 invalid_request_error
    ├── RequestHeadTooLarge            431 request_too_large
    ├── RateLimited                    429 rate_limit_error
    ├── UpstreamUnreachable            502 api_error
    │   └── BadUpstreamResponse        (answered, but not in its protocol: not JSON, wrong shape, cut short)
    ├── NoReadyInstance                503 overloaded_error (with Retry-After)
    └── UpstreamTimeout                504 api_error

Errors are raised, never returned. The gateway renders them in OpenAI's shape on OpenAI routes and in
Anthropic's on `/v1/messages`.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson


class ModelportError(Exception):
    status = 500
    openai_type = "api_error"
    anthropic_type = "api_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.retry_after = retry_after

    def headers(self) -> list[tuple[bytes, bytes]]:
        if self.retry_after is None:
            return []
        return [(b"retry-after", str(self.retry_after).encode())]

    def openai_body(self) -> bytes:
        return orjson.dumps(
            {"error": {"message": self.message, "type": self.openai_type, "param": self.param, "code": self.code}}
        )

    def anthropic_body(self) -> bytes:
        return orjson.dumps({"type": "error", "error": {"type": self.anthropic_type, "message": self.message}})


class BadRequest(ModelportError):
    status = 400
    openai_type = "invalid_request_error"
    anthropic_type = "invalid_request_error"


class InvalidJSON(BadRequest):
    code = "invalid_json"


class MissingModel(BadRequest):
    code = "missing_model"


class AuthenticationFailed(ModelportError):
    status = 401
    openai_type = "authentication_error"
    anthropic_type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(ModelportError):
    status = 403
    openai_type = "permission_error"
    anthropic_type = "permission_error"
    code = "insufficient_scope"


class NotFound(ModelportError):
    status = 404
    openai_type = "not_found_error"
    anthropic_type = "not_found_error"
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class MethodNotAllowed(ModelportError):
    status = 405
    openai_type = "invalid_request_error"
    anthropic_type = "invalid_request_error"
    code = "method_not_allowed"

    def __init__(self, message: str, *, allowed: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.allowed = ", ".join(sorted(allowed))

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"allow", self.allowed.encode())] if self.allowed else []


class RequestTimeout(ModelportError):
    """The client did not send its request (head or body) in time."""

    status = 408
    openai_type = "invalid_request_error"
    anthropic_type = "invalid_request_error"
    code = "request_timeout"


class Conflict(ModelportError):
    status = 409
    openai_type = "invalid_request_error"
    anthropic_type = "invalid_request_error"
    code = "conflict"


class PayloadTooLarge(ModelportError):
    status = 413
    openai_type = "invalid_request_error"
    anthropic_type = "request_too_large"
    code = "request_too_large"


class UnsupportedMediaType(ModelportError):
    status = 415
    openai_type = "invalid_request_error"
    anthropic_type = "invalid_request_error"
    code = "unsupported_media_type"


class RequestHeadTooLarge(ModelportError):
    status = 431
    openai_type = "invalid_request_error"
    anthropic_type = "request_too_large"
    code = "request_head_too_large"


class RateLimited(ModelportError):
    status = 429
    openai_type = "rate_limit_error"
    anthropic_type = "rate_limit_error"
    code = "rate_limit_exceeded"


class UpstreamUnreachable(ModelportError):
    status = 502
    openai_type = "api_error"
    anthropic_type = "api_error"
    code = "upstream_unreachable"


class BadUpstreamResponse(UpstreamUnreachable):
    """The instance answered, but not with what its protocol promises (HTML, invalid JSON, the wrong shape,
    a stream that ended before it finished)."""

    code = "bad_upstream_response"


class NoReadyInstance(ModelportError):
    status = 503
    openai_type = "service_unavailable"
    anthropic_type = "overloaded_error"
    code = "no_ready_instance"


class UpstreamTimeout(ModelportError):
    status = 504
    openai_type = "api_error"
    anthropic_type = "api_error"
    code = "upstream_timeout"
