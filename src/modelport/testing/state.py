"""What a fake upstream remembers: received requests, counters, health and served files."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(slots=True)
class RecordedRequest:
    """One request as the fake received it.

    ``headers`` keys are lower-cased (a repeated header keeps its last value); ``body`` is the raw body bytes,
    exactly as they arrived (multipart included).
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        """The body decoded as JSON."""
        import orjson

        return orjson.loads(self.body)


@dataclass(slots=True)
class FakeState:
    """The mutable state of one fake upstream; built per server, shared by its handlers."""

    api_key: str | None
    models: tuple[str, ...]
    record: bool = True
    healthy: bool = True
    requests: list[RecordedRequest] = field(default_factory=list)
    received: int = 0
    cancelled: int = 0
    files: dict[str, bytes] = field(default_factory=dict)
    root_url: str = ""
    id_prefix: str = field(default_factory=lambda: secrets.token_hex(4))
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    @classmethod
    def create(cls, *, api_key: str | None, models: Sequence[str], record: bool) -> FakeState:
        """Build the state for a server serving ``models`` (at least one)."""
        if not models:
            raise ValueError("a fake upstream needs at least one model id")
        return cls(api_key=api_key, models=tuple(models), record=record)

    def new_id(self, prefix: str) -> str:
        """A unique response id such as ``chatcmpl-1a2b3c4d-7``."""
        return f"{prefix}-{self.id_prefix}-{next(self._ids)}"


STATE: web.AppKey[FakeState] = web.AppKey("modelport_fake_state", FakeState)
"""Where a fake's :class:`FakeState` lives in its ``web.Application``."""
