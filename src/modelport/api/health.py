"""Liveness and readiness, answered without a key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelport.api.request import Request
from modelport.api.responses import send_json
from modelport.types import Send

if TYPE_CHECKING:
    from modelport.gateway import Gateway


async def healthz(gw: Gateway, request: Request, send: Send) -> None:
    await send_json(send, 200, {"status": "ok"})


async def readyz(gw: Gateway, request: Request, send: Send) -> None:
    """200 once the store is open and routes are loaded; 503 before that and while draining."""
    if gw.draining:
        await send_json(send, 503, {"status": "draining"})
    elif gw.router.loaded:
        await send_json(send, 200, {"status": "ready", "deployments": len(gw.router.routes)})
    else:
        await send_json(send, 503, {"status": "starting"})
