"""Which headers cross the gateway, in each direction."""

from __future__ import annotations

from collections.abc import Iterable

# RFC 9110 §7.6.1 connection-specific fields, plus what the gateway itself sets or must never forward.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
_NOT_UPSTREAM = HOP_BY_HOP | {b"host", b"content-length", b"authorization", b"x-api-key", b"expect", b"cookie"}
_NOT_DOWNSTREAM = HOP_BY_HOP | {b"server", b"date", b"set-cookie"}


def upstream_headers(
    client_headers: Iterable[tuple[bytes, bytes]], auth: bytes | None, content_length: int | None
) -> dict[str, str]:
    """Client headers to send upstream: the client's key replaced by the instance's credentials."""
    out: dict[str, str] = {}
    for name, value in client_headers:
        if name not in _NOT_UPSTREAM:
            out[name.decode("latin-1")] = value.decode("latin-1")
    out.setdefault("accept-encoding", "identity")  # never compress a body the client didn't ask to
    if auth is not None:
        out["authorization"] = auth.decode("latin-1")
    if content_length is not None:
        out["content-length"] = str(content_length)
    return out


def downstream_headers(
    raw: Iterable[tuple[bytes, bytes]], *, drop_length: bool = False
) -> list[tuple[bytes, bytes]]:
    """Upstream response headers to give the client."""
    out = []
    for name, value in raw:
        lower = name.lower()
        if lower in _NOT_DOWNSTREAM or (drop_length and lower == b"content-length"):
            continue
        out.append((lower, value))
    return out


def header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None
