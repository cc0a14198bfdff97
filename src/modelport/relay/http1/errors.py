"""How an upstream exchange can fail, in the terms the relay acts on."""

from __future__ import annotations


class UpstreamError(Exception):
    """Any failure of the upstream HTTP client."""


class NotDelivered(UpstreamError):
    """The instance never saw the request, or closed the connection before answering a single byte:
    safe to send it elsewhere."""


class ConnectFailed(NotDelivered):
    """No connection could be opened (refused, unreachable, TLS handshake failed)."""


class ConnectTimeout(UpstreamError, TimeoutError):
    """No connection within the connect timeout (a `TimeoutError`, like the relay's own timeouts)."""


class HeadTimeout(UpstreamError, TimeoutError):
    """No response head by the exchange's deadline (a `TimeoutError`, like the relay's own timeouts)."""


class BrokenResponse(UpstreamError):
    """The connection broke off after the response had begun."""


class ProtocolError(UpstreamError):
    """The instance's answer was not valid HTTP/1.1."""


class UnsafeRequest(ValueError):
    """The request target or a header value held bytes HTTP/1.1 can't carry safely (CTL bytes, spaces,
    line breaks): sending it would let the bytes after them be read as more headers or another request."""
