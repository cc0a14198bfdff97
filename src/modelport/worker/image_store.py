"""A bounded, expiring in-memory store for generated images served by `response_format: url`.

Each image gets an unguessable id (32 random bytes, URL-safe base64, plus the caller's suffix such as
".jpeg", so the id is the file name in its URL) and lives for `ttl` seconds
(10 minutes by default) or until the store's count or byte bound pushes it out, oldest first. The
store belongs to one worker (its `WorkerState`); nothing is written to disk.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

DEFAULT_TTL = 600.0
DEFAULT_MAX_IMAGES = 256
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


class ImageStore:
    """id -> image bytes, for at most `ttl` seconds; bounded by count and total bytes."""

    def __init__(
        self,
        ttl: float = DEFAULT_TTL,
        max_images: int = DEFAULT_MAX_IMAGES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_images = max_images
        self.max_bytes = max_bytes
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, data: bytes, suffix: str = "") -> str:
        """Store `data`; returns its new id (random, ending in `suffix`)."""
        self._expire()
        image_id = secrets.token_urlsafe(32) + suffix
        self._items[image_id] = (self._clock() + self.ttl, data)
        self._bytes += len(data)
        while len(self._items) > self.max_images or (self._bytes > self.max_bytes and len(self._items) > 1):
            self._drop(next(iter(self._items)))
        return image_id

    def get(self, image_id: str) -> tuple[bytes, float] | None:
        """(bytes, seconds left) for a live id, else None."""
        self._expire()
        item = self._items.get(image_id)
        if item is None:
            return None
        expires, data = item
        return data, expires - self._clock()

    def _expire(self) -> None:
        now = self._clock()
        while self._items:
            oldest = next(iter(self._items))
            if self._items[oldest][0] > now:
                return
            self._drop(oldest)

    def _drop(self, image_id: str) -> None:
        _, data = self._items.pop(image_id)
        self._bytes -= len(data)
