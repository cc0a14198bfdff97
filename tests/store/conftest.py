"""Fixtures for the store tests: every store test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.store import Store

# `postgres_server` and `postgres_url` come from tests/conftest.py (defined in tests/postgres_server.py).


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty database: a SQLite file in a not-yet-created folder, or a fresh PG database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state/modelport.db"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An opened (migrated) store, closed after the test."""
    opened = Store.open(store_url)
    try:
        yield opened
    finally:
        opened.close()
