"""`create_app(settings)`: the gateway as an ASGI application, with everything it holds built in its
lifespan. The hot path is a plain ASGI handler (`api.routes.dispatch`); FastAPI serves only `/api`."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from modelport.api.routes import dispatch
from modelport.config import Settings
from modelport.gateway import Gateway
from modelport.heap import freeze_long_lived_objects
from modelport.relay.upstream import create_session
from modelport.store import Store
from modelport.types import Receive, Send
from modelport.ui.app import UiApp, is_ui_path

log = logging.getLogger(__name__)


class GatewayApp:
    """The ASGI callable. HTTP goes to the dispatcher; lifespan builds and tears down the `Gateway`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.gateway: Gateway | None = None
        self.ui: UiApp | None = None

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            assert self.gateway is not None, "the server must run the lifespan protocol"
            if self.ui is not None and is_ui_path(scope["path"]):
                await self.ui(scope, receive, send)  # the web UI (modelport.ui)
            else:
                await dispatch(self.gateway, scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    store = await asyncio.to_thread(Store.open, self.settings.store_url)
                    self.gateway = Gateway(self.settings, store, create_session())
                    await self.gateway.start()
                    self.ui = UiApp(self.gateway)
                    freeze_long_lived_objects()
                except Exception as exc:
                    log.exception("gateway start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.gateway is not None:
                    await self.gateway.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(settings: Settings) -> GatewayApp:
    return GatewayApp(settings)
