"""A small pooled HTTP/1.1 client for the relay's hot path: asyncio protocols and the `httptools` parser,
each request written as one pre-assembled `bytes`, one timer handle per request (its head's deadline)."""

from modelport.relay.http1.errors import (
    BrokenResponse,
    ConnectFailed,
    ConnectTimeout,
    HeadTimeout,
    NotDelivered,
    ProtocolError,
    UnsafeRequest,
    UpstreamError,
)
from modelport.relay.http1.pool import Body, BodySource, Origin, Pool
from modelport.relay.http1.response import Response

__all__ = [
    "Body", "BodySource", "BrokenResponse", "ConnectFailed", "ConnectTimeout", "HeadTimeout", "NotDelivered",
    "Origin", "Pool", "ProtocolError", "Response", "UnsafeRequest", "UpstreamError",
]
