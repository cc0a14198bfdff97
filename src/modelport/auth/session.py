"""Browser sessions of the web UI (`/ui`): a signed cookie that names a key but never holds it, and the
CSRF token that must come with every call the page makes on it.

The cookie reads `v1.<session id>.<key id>.<expiry>.<signature>`, signed (HMAC-SHA256) with a secret kept
in the data dir (mode 0600), so every gateway process on the machine accepts it and no session table is
shared. The key behind it is looked up again (cached one second), so revoking or expiring the key ends its
sessions too. Signing out records the session id under `revoked/` in the data dir, which every process
checks. The CSRF token is derived from the session id; a cookie without the matching `X-CSRF-Token` header
authenticates nothing.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from modelport.errors import AuthenticationFailed, PermissionDenied
from modelport.records import ApiKey, KeyScope
from modelport.relay.headers import header

if TYPE_CHECKING:
    from modelport.store import Store

COOKIE = "modelport_session"
CSRF_HEADER = b"x-csrf-token"
LIFETIME_SECONDS = 12 * 3600
_TOKEN = re.compile(r"^v1\.([A-Za-z0-9_-]{22})\.([a-z0-9]{12})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$")
_MAX_CACHED = 10_000


@dataclass(frozen=True)
class Session:
    """A verified session: who it is for, until when, and the CSRF token the page must send."""

    id: str
    key: ApiKey
    expires: int  # unix seconds
    csrf: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_or_create_secret(path: Path) -> bytes:
    """The 32-byte signing secret in `path`, made (mode 0600) on first use; safe when processes race."""
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def cookie_value(headers: Iterable[tuple[bytes, bytes]], name: str = COOKIE) -> str | None:
    """The value of cookie `name` in the request's `Cookie` headers."""
    wanted = name.encode() + b"="
    for key, value in headers:
        if key != b"cookie":
            continue
        for part in value.split(b";"):
            part = part.strip()
            if part.startswith(wanted):
                return part[len(wanted) :].decode("latin-1")
    return None


class SessionKeeper:
    """Signs, verifies and revokes UI sessions. One per gateway process, built from its data dir."""

    def __init__(self, secret: bytes, store: Store, folder: Path, *, lifetime: int = LIFETIME_SECONDS,
                 key_ttl: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._store = store
        self._revoked = folder / "revoked"
        self.lifetime = lifetime
        self._key_ttl = key_ttl
        self._clock = clock
        self._keys: dict[str, tuple[ApiKey | None, float]] = {}
        self._pruned_at = 0.0

    @classmethod
    def in_data_dir(cls, data_dir: Path, store: Store, key_ttl: float = 1.0) -> SessionKeeper:
        folder = data_dir / "ui-sessions"
        return cls(load_or_create_secret(folder / "secret"), store, folder, key_ttl=key_ttl)

    def _sign(self, message: str) -> str:
        return _b64(hmac.new(self._secret, message.encode(), hashlib.sha256).digest())

    def csrf_for(self, session_id: str) -> str:
        return self._sign(f"csrf\0{session_id}")

    def create(self, key: ApiKey) -> tuple[str, Session]:
        """A new session for a verified key: (cookie value, session). It ends with the key if sooner."""
        expires = int(self._clock()) + self.lifetime
        if key.expires_at is not None:
            expires = min(expires, int(key.expires_at.timestamp()))
        session_id = secrets.token_urlsafe(16)
        body = f"v1.{session_id}.{key.id}.{expires}"
        return f"{body}.{self._sign(body)}", Session(session_id, key, expires, self.csrf_for(session_id))

    async def session(self, headers: Iterable[tuple[bytes, bytes]]) -> Session | None:
        """The request's valid session, or None (no cookie, a bad signature, expired, signed out, or its key
        revoked or expired). Checks no CSRF token: for reads of the UI's own state only."""
        token = cookie_value(headers)
        match = _TOKEN.match(token) if token else None
        if match is None:
            return None
        session_id, key_id, expires, signature = match.groups()
        if not hmac.compare_digest(signature, self._sign(f"v1.{session_id}.{key_id}.{expires}")):
            return None
        if int(expires) <= self._clock() or (self._revoked / session_id).exists():
            return None
        key = await self._key(key_id)
        if key is None or not key.is_active(datetime.now(UTC)):
            return None
        return Session(session_id, key, int(expires), self.csrf_for(session_id))

    async def authenticate(self, headers: list[tuple[bytes, bytes]], needed: KeyScope) -> ApiKey | None:
        """The key of a request made from the UI: None when it carries no session cookie; raises when the
        cookie is invalid, or the CSRF header is missing or wrong, or the key lacks the `needed` scope."""
        if cookie_value(headers) is None:
            return None
        session = await self.session(headers)
        if session is None:
            raise AuthenticationFailed("The UI session is invalid, expired or signed out; sign in again.")
        presented = (header(headers, CSRF_HEADER) or b"").decode("latin-1")
        if not hmac.compare_digest(presented, session.csrf):
            raise PermissionDenied("Missing or wrong X-CSRF-Token for this UI session.", code="csrf_failed")
        if not session.key.scope.allows(needed):
            raise PermissionDenied(f"This key lacks the `{needed.value}` scope.")
        return session.key

    def revoke(self, session: Session) -> None:
        """Sign out: no process accepts the session again. Old records are pruned at most once an hour."""
        self._revoked.mkdir(parents=True, exist_ok=True)
        (self._revoked / session.id).write_text(str(session.expires))
        self._prune()

    def _prune(self) -> None:
        now = self._clock()
        if now - self._pruned_at < 3600:
            return
        self._pruned_at = now
        for entry in self._revoked.iterdir():
            try:
                if int(entry.read_text() or "0") < now:
                    entry.unlink()
            except (OSError, ValueError):
                continue

    async def _key(self, key_id: str) -> ApiKey | None:
        cached = self._keys.get(key_id)
        now = time.monotonic()
        if cached is not None and now - cached[1] < self._key_ttl:
            return cached[0]
        key = await asyncio.to_thread(self._store.get_key, key_id)
        if len(self._keys) >= _MAX_CACHED:
            self._keys.clear()
        self._keys[key_id] = (key, now)
        return key
