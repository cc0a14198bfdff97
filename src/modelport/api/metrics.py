"""`GET /metrics`: the Prometheus exposition of this gateway (all its `--workers` processes summed).

It needs an admin key or the `--metrics-token`, unless `--metrics-public` is set and the scraper comes from
a loopback or private (internal) address. The route is in the dispatcher's public list because it checks
these itself.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST

from modelport.api.request import Request
from modelport.api.responses import send_bytes
from modelport.auth.verifier import token_from_headers
from modelport.records import KeyScope
from modelport.types import Send

if TYPE_CHECKING:
    from modelport.gateway import Gateway


def internal_client(scope: dict[str, Any]) -> bool:
    """Whether the request comes from a loopback or private address."""
    client = scope.get("client")
    if not client:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_private


async def metrics(gw: Gateway, request: Request, send: Send) -> None:
    """The metrics, once the scraper is allowed to see them."""
    settings = gw.settings
    if not (settings.metrics_public and internal_client(request.scope)):
        token = token_from_headers(request.header(b"authorization"), request.header(b"x-api-key"))
        expected = settings.metrics_token
        if not (expected and token and hmac.compare_digest(token.encode(), expected.encode())):
            await gw.verifier.verify(token, KeyScope.ADMIN)
    gw.usage.ledger.settle()  # the requests that finished in the last moments are counted too
    body = await asyncio.to_thread(gw.usage.metrics.exposition)
    await send_bytes(send, 200, body, CONTENT_TYPE_LATEST.encode())
