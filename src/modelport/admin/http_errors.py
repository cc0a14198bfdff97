"""Every error of the admin app in our shape (`{"error": {"message", "type", "param", "code"}}`): our own
errors, FastAPI's validation errors (a 400 naming the field), and Starlette's 404 and 405 (with `Allow`)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from modelport import errors

_BY_STATUS: dict[int, type[errors.ModelportError]] = {
    cls.status: cls
    for cls in (errors.BadRequest, errors.NotFound, errors.MethodNotAllowed, errors.Conflict,
                errors.PayloadTooLarge, errors.UnsupportedMediaType, errors.RateLimited)
}


def install_error_handlers(app: FastAPI) -> None:
    """Render every error `app` raises, or FastAPI and Starlette raise for it, in our shape."""
    app.add_exception_handler(errors.ModelportError, _modelport_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_exception)  # type: ignore[arg-type]


def render(error: errors.ModelportError, headers: dict[str, str] | None = None) -> Response:
    """The JSON response for `error`, with its own headers (`Allow`, `Retry-After`) and `headers`."""
    own = {name.decode(): value.decode() for name, value in error.headers()}
    return Response(error.openai_body(), status_code=error.status, media_type="application/json",
                    headers={**own, **(headers or {})})


async def _modelport_error(request: Request, exc: errors.ModelportError) -> Response:
    return render(exc)


async def _invalid(request: Request, exc: RequestValidationError) -> Response:
    """A 400 about the first problem, naming its field as `timeouts.first_byte` or `urls[2]`."""
    problem: dict[str, Any] = exc.errors()[0]
    if problem.get("type") == "json_invalid":
        return render(errors.InvalidJSON(f"The body is not valid JSON: {problem.get('msg', '')}."))
    location = [part for part in problem.get("loc", ()) if part not in ("body", "query", "path")]
    param = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".") or None
    message = f"Invalid `{param}`: {problem.get('msg', 'invalid value')}." if param else f"Invalid request: {problem}"
    return render(errors.BadRequest(message, param=param))


async def _http_exception(request: Request, exc: HTTPException) -> Response:
    """Starlette's own errors: no route (404), a route without this method (405, with every allowed method)."""
    path, method = request.url.path, request.method
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        message = f"`{method}` is not allowed on `{path}`; use {', '.join(sorted(allowed))}."
        return render(errors.MethodNotAllowed(message, allowed=allowed))
    message = f"No admin API route `{path}`." if exc.status_code == 404 else str(exc.detail)
    error: errors.ModelportError = _BY_STATUS.get(exc.status_code, errors.ModelportError)(message)
    error.status = exc.status_code
    return render(error, dict(exc.headers or {}))


def allowed_methods(request: Request) -> set[str]:
    """The methods of every route whose path matches the request's (Starlette names only the first's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return methods
