"""The key format and how secrets are hashed and compared. Pure functions, no I/O.

A key reads `mp-<id>-<secret>`: the id is public (it names the key in listings and logs), the secret is
256 random bits and is never stored, only its SHA-256. A slow password hash buys nothing for a secret with
this much entropy, and a fast one keeps the uncached path cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "mp"
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_TOKEN = re.compile(r"^mp-([a-z0-9]{12})-([A-Za-z0-9_-]{20,100})$")


@dataclass(frozen=True)
class NewKey:
    """A freshly made key. `token` is what the user gets, once."""

    id: str
    secret: str

    @property
    def token(self) -> str:
        return f"{PREFIX}-{self.id}-{self.secret}"

    @property
    def secret_hash(self) -> str:
        return hash_secret(self.secret)


def generate_key() -> NewKey:
    key_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))
    return NewKey(id=key_id, secret=secrets.token_urlsafe(32))


def parse_token(token: str) -> tuple[str, str] | None:
    """Split a presented token into (id, secret); None when it isn't shaped like one of ours."""
    match = _TOKEN.match(token)
    return (match.group(1), match.group(2)) if match else None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented secret with a stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)
