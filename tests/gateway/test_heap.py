"""The gateway's start-up objects are kept out of the garbage collector's walks (see modelport.heap)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from pathlib import Path
from typing import Any

from modelport.app import GatewayApp
from modelport.config import Settings


async def test_lifespan_start_up_freezes_what_it_built(tmp_path: Path) -> None:
    app = GatewayApp(Settings(data_dir=tmp_path, supervise=False, install_defaults=False))
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    gc.unfreeze()
    lifespan = asyncio.create_task(app({"type": "lifespan"}, inbox.get, outbox.put))
    try:
        await inbox.put({"type": "lifespan.startup"})
        assert (await asyncio.wait_for(outbox.get(), 30))["type"] == "lifespan.startup.complete"
        assert gc.get_freeze_count() > 0
        assert app.gateway is not None and _frozen(app.gateway)
        await inbox.put({"type": "lifespan.shutdown"})
        assert (await asyncio.wait_for(outbox.get(), 30))["type"] == "lifespan.shutdown.complete"
    finally:
        gc.unfreeze()
        lifespan.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await lifespan


def _frozen(obj: object) -> bool:
    """True when `obj` sits in the permanent generation: a collection of every generation leaves it out."""
    return all(obj is not other for other in gc.get_objects())
