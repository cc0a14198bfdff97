"""Turns a presented token into a verified `ApiKey`, with a cache that never outlives revocation by more
than `ttl` seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from modelport.auth.keys import parse_token, secret_matches
from modelport.errors import AuthenticationFailed, PermissionDenied
from modelport.records import ApiKey, KeyScope

if TYPE_CHECKING:
    from modelport.store import Store

_MAX_CACHED = 10_000


class KeyVerifier:
    """Verifies tokens against the store. A verified key is reused for `ttl` seconds, then looked up again,
    so a revocation or expiry made by any process sharing the store takes effect within `ttl`."""

    def __init__(self, store: Store, *, ttl: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[ApiKey, float]] = {}
        self._inflight: dict[str, asyncio.Future[ApiKey | None]] = {}

    async def verify(self, token: str | None, needed: KeyScope) -> ApiKey:
        """The key behind `token`, if it is valid, active and has the `needed` scope; raises otherwise."""
        if not token:
            raise AuthenticationFailed("Missing API key: send `Authorization: Bearer <key>` or `x-api-key`.")
        key = await self._lookup(token)
        if key is None or not key.is_active(datetime.now(UTC)):
            raise AuthenticationFailed("Invalid, revoked or expired API key.")
        if not key.scope.allows(needed):
            raise PermissionDenied(f"This key lacks the `{needed.value}` scope.")
        return key

    async def _lookup(self, token: str) -> ApiKey | None:
        cached = self._cache.get(token)
        now = self._clock()
        if cached is not None and now - cached[1] < self._ttl:
            return cached[0]
        pending = self._inflight.get(token)
        if pending is not None:  # one store round trip per token, however many requests wait on it
            return await asyncio.shield(pending)
        future: asyncio.Future[ApiKey | None] = asyncio.get_running_loop().create_future()
        self._inflight[token] = future
        try:
            key = await asyncio.to_thread(self._fetch, token)
            future.set_result(key)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody logs it twice
            raise
        finally:
            del self._inflight[token]
        if key is not None:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            self._cache[token] = (key, now)
        else:
            self._cache.pop(token, None)
        return key

    def _fetch(self, token: str) -> ApiKey | None:
        parsed = parse_token(token)
        if parsed is None:
            return None
        key_id, secret = parsed
        key = self._store.get_key(key_id)
        if key is None or not secret_matches(secret, key.secret_hash):
            return None
        return key


def token_from_headers(authorization: bytes | None, x_api_key: bytes | None) -> str | None:
    """The presented token: `Authorization: Bearer <t>` first, else `x-api-key: <t>`."""
    if authorization:
        scheme, _, value = authorization.decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    if x_api_key:
        return x_api_key.decode("latin-1").strip() or None
    return None
