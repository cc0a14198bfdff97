"""Who may call the gateway from where: the allowed-Host list and CORS for browser clients.

Both are off unless configured (`--allowed-host`, `--cors-origin`). A Host outside the list is a 400 (it
stops DNS-rebinding pages from reaching a gateway on a private address); the health probes are exempt.
CORS answers preflights for allowed origins without a key (browsers send none there) and marks the answers
to their real requests readable by the page; any other origin gets no CORS headers, so the browser keeps the
answer from the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from modelport.errors import BadRequest, PermissionDenied
from modelport.relay.headers import header
from modelport.types import Send

_METHODS = b"GET, POST, PUT, PATCH, DELETE, OPTIONS"
_HEADER_LIST = re.compile(rb"[A-Za-z0-9!#$%&'*+.^_`|~, -]{0,2048}")  # tokens and commas, nothing else
_UNCHECKED_PATHS = frozenset({"/healthz", "/readyz"})


class OriginPolicy:
    """The Host and CORS rules of one gateway, built once from its settings."""

    def __init__(self, allowed_hosts: Iterable[str] = (), cors_origins: Iterable[str] = ()) -> None:
        self.hosts = frozenset(host.lower().encode() for host in allowed_hosts)
        origins = [origin.rstrip("/").lower() for origin in cors_origins]
        self.any_origin = "*" in origins
        self.origins = frozenset(origin.encode() for origin in origins if origin != "*")
        self.cors = bool(origins)

    @property
    def active(self) -> bool:
        return bool(self.hosts) or self.cors

    def check_host(self, scope: dict[str, Any]) -> None:
        """400 for a Host header outside the allowed list (an entry without a port matches any port)."""
        if not self.hosts or scope["path"] in _UNCHECKED_PATHS:
            return
        host = (header(scope["headers"], b"host") or b"").lower()
        if host in self.hosts or host.rsplit(b":", 1)[0] in self.hosts:
            return
        raise BadRequest("This gateway does not serve that Host.", code="host_not_allowed")

    def allowed_origin(self, scope: dict[str, Any]) -> bytes | None:
        """The request's Origin when CORS is on and allows it."""
        if not self.cors:
            return None
        origin = header(scope["headers"], b"origin")
        if origin is None or not (self.any_origin or origin.lower() in self.origins):
            return None
        return origin

    async def answer_preflight(self, scope: dict[str, Any], send: Send) -> bool:
        """Answer a CORS preflight (OPTIONS with Access-Control-Request-Method); False if it is none."""
        headers = scope["headers"]
        if not self.cors or scope["method"] != "OPTIONS" or header(headers, b"access-control-request-method") is None:
            return False
        origin = self.allowed_origin(scope)
        if origin is None:
            raise PermissionDenied("This origin may not call the gateway from a browser.", code="origin_not_allowed")
        requested = header(headers, b"access-control-request-headers") or b""
        if not _HEADER_LIST.fullmatch(requested):
            raise BadRequest("Access-Control-Request-Headers is not a list of header names.")
        answer = [*_cors_headers(origin), (b"access-control-allow-methods", _METHODS),
                  (b"access-control-max-age", b"600"), (b"content-length", b"0")]
        if requested:
            answer.append((b"access-control-allow-headers", requested))
        await send({"type": "http.response.start", "status": 204, "headers": answer})
        await send({"type": "http.response.body", "body": b""})
        return True

    def marking(self, origin: bytes, send: Send) -> Send:
        """`send` with the CORS headers added to the response start, for a request from `origin`."""
        extra = [*_cors_headers(origin), (b"access-control-expose-headers", b"*")]

        async def marked(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        return marked


def _cors_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"access-control-allow-origin", origin), (b"vary", b"origin")]
