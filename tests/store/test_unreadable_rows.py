"""A deployment row that does not decode is reported and skipped, never fatal; nothing unreadable is written."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from modelport import errors
from modelport.admin.service import AdminService
from modelport.cli.serve import deploy_defaults
from modelport.records import Timeouts
from modelport.store import Store

from .factories import make_spec

# What the store held after `PUT` with `"timeouts": {"first_byte": 1e400}`: orjson writes infinity as null.
NULL_TIMEOUT = (
    '{"name":"bad","category":"llm","urls":["http://127.0.0.1:9000/v1"],"upstream_key":null,'
    '"upstream_model":null,"health_path":"/models","replicas":1,"engine":null,"model":null,"command":null,'
    '"engine_args":{},"generic_proxy":false,"speaks_anthropic":false,'
    '"timeouts":{"connect":10.0,"first_byte":null,"idle":300.0,"total":3600.0},"aliases":[]}'
)


def corrupt(store: Store, name: str, text: str) -> None:
    """Overwrite a deployment's stored spec with `text`, in SQL, past every check of ours."""
    with store.engine.begin() as connection:
        connection.execute(sa.text("UPDATE deployments SET spec = :spec WHERE name = :name"),
                           {"spec": text, "name": name})


@pytest.mark.parametrize("text", [NULL_TIMEOUT, "{not json", '{"name": "bad", "replicas": "many"}'],
                         ids=["null-timeout", "not-json", "wrong-type"])
def test_an_unreadable_row_is_skipped_and_reported(store: Store, text: str, caplog: pytest.LogCaptureFixture) -> None:
    store.add_deployment(make_spec("bad"))
    store.add_deployment(make_spec("good"))
    corrupt(store, "bad", text)
    with caplog.at_level(logging.WARNING, logger="modelport.store"):
        assert [d.name for d in store.list_deployments()] == ["good"]
    assert any("bad" in record.getMessage() for record in caplog.records)
    listing = store.read_deployments()
    assert [d.name for d in listing.deployments] == ["good"]
    assert [u.name for u in listing.unreadable] == ["bad"] and listing.unreadable[0].error
    with pytest.raises(errors.ModelportError) as raised:
        store.get_deployment("bad")
    assert raised.value.status == 500 and "bad" in raised.value.message


def test_an_unreadable_row_can_be_replaced_or_removed(store: Store) -> None:
    store.add_deployment(make_spec("bad"))
    store.add_deployment(make_spec("worse"))
    corrupt(store, "bad", NULL_TIMEOUT)
    corrupt(store, "worse", "{not json")
    repaired = store.update_deployment(make_spec("bad", replicas=1))
    assert repaired.spec == make_spec("bad")
    assert store.remove_deployment("worse")
    assert [d.name for d in store.list_deployments()] == ["bad"] and not store.read_deployments().unreadable


@pytest.mark.parametrize("seconds", [float("inf"), float("nan"), float("-inf")])
def test_a_spec_that_would_not_read_back_is_never_written(store: Store, seconds: float) -> None:
    with pytest.raises(errors.BadRequest):
        store.add_deployment(make_spec("odd", timeouts=Timeouts(first_byte=seconds)))
    assert store.get_deployment("odd") is None
    store.add_deployment(make_spec("odd"))
    with pytest.raises(errors.BadRequest):
        store.update_deployment(make_spec("odd", timeouts=Timeouts(total=seconds)))
    got = store.get_deployment("odd")
    assert got is not None and got.spec == make_spec("odd")


def test_a_store_whose_only_row_is_unreadable_gets_no_defaults(store: Store) -> None:
    """The defaults go only to an empty store; an unreadable row is still somebody's deployment."""
    store.add_deployment(make_spec("bad"))
    corrupt(store, "bad", "{not json")
    deploy_defaults(AdminService(store))
    listing = store.read_deployments()
    assert listing.deployments == [] and [u.name for u in listing.unreadable] == ["bad"]
