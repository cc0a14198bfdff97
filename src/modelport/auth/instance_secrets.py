"""Secrets that managed instances demand from the gateway.

Each is derived (HMAC-SHA256) from one key in the data dir and the instance's identity, so every gateway
process on this machine can present it without any of them passing secrets around, and a restarted
instance on a new port gets a new one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from modelport.records import InstanceRecord


class InstanceSecrets:
    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def load_or_create(cls, path: Path) -> InstanceSecrets:
        """The key in `path`, made (mode 0600) on first use."""
        try:
            return cls(bytes.fromhex(path.read_text().strip()))
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another gateway process made it first
            return cls(bytes.fromhex(path.read_text().strip()))
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        return cls(bytes.fromhex(path.read_text().strip()))

    def for_instance(self, deployment: str, ordinal: int, port: int) -> str:
        message = f"{deployment}\0{ordinal}\0{port}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def header_for(self, record: InstanceRecord) -> bytes | None:
        """`Authorization` for the instance a record describes; None when its URL names no port."""
        port = urlsplit(record.url).port
        if port is None:
            return None
        return b"Bearer " + self.for_instance(record.deployment, record.ordinal, port).encode()
