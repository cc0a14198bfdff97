"""Fixtures for the quota tests: the counter runs on SQLite and on PostgreSQL, with a clock the test turns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelport.records import ApiKey, KeyLimits, KeyScope
from modelport.store import Store


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An opened store on SQLite or on a fresh PostgreSQL database."""
    url = f"sqlite:///{tmp_path}/modelport.db" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    opened = Store.open(url)
    try:
        yield opened
    finally:
        opened.close()


class Clock:
    """Unix time that moves only when the test says so."""

    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 30, 23, 59, 0, tzinfo=UTC))


def stored_key(store: Store, limits: KeyLimits, key_id: str = "k0000000000a") -> ApiKey:
    """A key with `limits`, stored."""
    key = ApiKey(key_id, "limited", "0" * 64, KeyScope.INFERENCE, None, datetime.now(UTC), limits=limits)
    store.add_key(key)
    return key
