"""ASGI's types, once for the whole gateway (as Starlette's `types.py`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]  # an ASGI connection scope (not a key's permission: that is `records.KeyScope`)
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
