"""Which headers cross the gateway, in each direction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from modelport.relay.http1.errors import UnsafeRequest

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
# The web UI's session travels in the cookie and its CSRF token: neither is for an instance.
_NOT_UPSTREAM = HOP_BY_HOP | {b"host", b"content-length", b"authorization", b"x-api-key", b"expect", b"cookie",
                              b"x-csrf-token"}
_NOT_DOWNSTREAM = HOP_BY_HOP | {b"server", b"date", b"set-cookie"}


def upstream_headers(
    client_headers: Iterable[tuple[bytes, bytes]], auth: bytes | None, extra: Mapping[bytes, bytes] | None = None
) -> bytes:
    """Client headers to send upstream, as a block of `name: value\r\n` lines (no host, no framing): the
    client's key replaced by the instance's credentials; `extra` headers replace the client's own.
    `UnsafeRequest` when a value would break the block's framing."""
    lines = []
    identity = not (extra and b"accept-encoding" in extra)
    for name, value in client_headers:
        if name in _NOT_UPSTREAM or (extra and name in extra):
            continue
        if name == b"accept-encoding":
            identity = False
        lines.append(b"%b: %b\r\n" % (name, value))
    if identity:
        lines.append(b"accept-encoding: identity\r\n")  # never compress a body the client didn't ask to
    if auth is not None:
        lines.append(b"authorization: %b\r\n" % auth)
    if extra:
        lines.extend(b"%b: %b\r\n" % item for item in extra.items())
    block = b"".join(lines)
    # Each line holds exactly one CR and one LF when no value does: any more would start a new header line.
    if block.count(b"\n") != len(lines) or block.count(b"\r") != len(lines) or b"\0" in block:
        raise UnsafeRequest("A header value holds a line break or NUL byte; refusing to send it upstream.")
    return block


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
