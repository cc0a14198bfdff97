"""A truthful OpenAPI document for the admin app: the error statuses each operation can answer, all in our
error shape, and no 422 (a body FastAPI cannot validate is a 400 here)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from modelport.admin.schemas import ErrorResponse

_WHY = {
    400: "Invalid request (the field is named in `param`)",
    401: "Missing, unknown, expired or revoked key",
    403: "The key lacks the `admin` scope",
    404: "No such deployment, key, log or route",
    409: "A name is taken",
    500: "The store holds something it cannot read",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: these statuses, and 401/403 (every admin route checks the key), in our shape."""
    return {status: {"model": ErrorResponse, "description": _WHY[status]} for status in (*statuses, 401, 403)}


def install_openapi(app: FastAPI) -> None:
    """Serve a document without FastAPI's 422 responses and validation schemas, which it never sends."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, routes=app.routes)
            for item in document.get("paths", {}).values():
                for operation in item.values():
                    operation.get("responses", {}).pop("422", None)
            schemas = document.get("components", {}).get("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
