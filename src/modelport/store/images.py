"""Generated images behind unguessable URLs: kept on disk (so every gateway process on the machine can
serve them) for a limited time."""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z0-9_-]{43}\.(png|jpeg|webp|gif)$")
_MEDIA = {"png": b"image/png", "jpeg": b"image/jpeg", "webp": b"image/webp", "gif": b"image/gif"}


def image_extension(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return "png"


class ImageStore:
    def __init__(self, folder: Path, ttl_seconds: float) -> None:
        self.folder = folder
        self.ttl = ttl_seconds

    def put(self, data: bytes) -> str:
        """Keep `data`; returns its file name (256 random bits plus the image's extension)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"{secrets.token_urlsafe(32)}.{image_extension(data)}"
        path = self.folder / name
        with open(path, "xb") as handle:
            handle.write(data)
        self._sweep()
        return name

    def get(self, name: str) -> tuple[bytes, bytes] | None:
        """(bytes, media type) of a stored image that has not expired."""
        if not _NAME.match(name):
            return None
        path = self.folder / name
        try:
            if time.time() - path.stat().st_mtime > self.ttl:
                return None
            return path.read_bytes(), _MEDIA[name.rsplit(".", 1)[1]]
        except FileNotFoundError:
            return None

    def _sweep(self) -> None:
        cutoff = time.time() - self.ttl
        for entry in os.scandir(self.folder):
            try:
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
            except FileNotFoundError:
                pass
