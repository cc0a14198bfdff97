"""Opening a store creates the schema through Alembic; opening again changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from modelport.store import Store, deployments, revision
from modelport.store.database import alembic_config, normalise_url, write_transaction

from .factories import BASE_TIME, make_key, make_spec


def test_open_creates_schema_at_head(store: Store) -> None:
    inspector = sa.inspect(store.engine)
    tables = set(inspector.get_table_names())
    assert {"api_keys", "deployments", "instances", "routing_state", "alembic_version"} <= tables
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with store.engine.connect() as connection:
        version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    assert version == head
    assert store.routing_revision() == 0


def test_reopening_is_idempotent_and_keeps_data(store_url: str) -> None:
    first = Store.open(store_url)
    first.add_key(make_key("k1"))
    first.add_deployment(make_spec("chat"))
    revision = first.routing_revision()
    first.close()
    for _ in range(2):
        again = Store.open(store_url)
        try:
            assert [key.id for key in again.list_keys()] == ["k1"]
            assert [d.name for d in again.list_deployments()] == ["chat"]
            assert again.routing_revision() == revision
        finally:
            again.close()


def test_instances_cascade_is_declared(store: Store) -> None:
    (foreign_key,) = sa.inspect(store.engine).get_foreign_keys("instances")
    assert foreign_key["referred_table"] == "deployments"
    assert foreign_key["options"].get("ondelete", "").upper() == "CASCADE"


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/a/b/modelport.db")
    try:
        assert (tmp_path / "a" / "b" / "modelport.db").exists()
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 5000
    finally:
        store.close()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/mp", "postgresql+psycopg://u:p@db:5432/mp"),
        ("postgresql://u@db/mp", "postgresql+psycopg://u@db/mp"),
        ("postgresql+psycopg://u@db/mp", "postgresql+psycopg://u@db/mp"),
        ("sqlite:////var/lib/modelport/modelport.db", "sqlite:////var/lib/modelport/modelport.db"),
    ],
)
def test_normalise_url(given: str, expected: str) -> None:
    assert normalise_url(given).render_as_string(hide_password=False) == expected


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_sqlite_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="in-memory"):
        normalise_url(url)


def test_store_url_is_normalised(postgres_url: str) -> None:
    store = Store.open(postgres_url.replace("postgresql://", "postgres://", 1))
    try:
        assert store.url.startswith("postgresql+psycopg://")
        assert store.routing_revision() == 0
    finally:
        store.close()


def test_a_failed_write_transaction_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(RuntimeError), write_transaction(store.engine) as connection:
        deployments.insert(connection, make_spec("chat"), BASE_TIME)
        revision.bump(connection)
        raise RuntimeError("boom")
    assert store.list_deployments() == []
    assert store.routing_revision() == 0
