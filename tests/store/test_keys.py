"""API keys: add, get, list, revoke; expiry, scope and model allow-lists round-trip."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from modelport import errors
from modelport.records import KeyScope
from modelport.store import Store

from .factories import at, make_key


def test_add_and_get_round_trips(store: Store) -> None:
    key = make_key("k1", scope=KeyScope.ADMIN, expires_at=at(3600), models=("chat", "embed"))
    store.add_key(key)
    loaded = store.get_key("k1")
    assert loaded == key
    assert loaded is not None and loaded.models == ("chat", "embed")
    assert loaded.scope is KeyScope.ADMIN
    assert loaded.created_at.tzinfo is not None and loaded.created_at.utcoffset() == timedelta(0)
    assert loaded.expires_at == at(3600)


def test_models_none_and_empty_tuple_are_distinct(store: Store) -> None:
    store.add_key(make_key("all", models=None))
    store.add_key(make_key("none", models=()))
    all_models, no_models = store.get_key("all"), store.get_key("none")
    assert all_models is not None and all_models.models is None and all_models.may_use("x")
    assert no_models is not None and no_models.models == () and not no_models.may_use("x")


def test_non_utc_times_come_back_as_the_same_instant_in_utc(store: Store) -> None:
    plus_two = timezone(timedelta(hours=2))
    created = datetime(2025, 6, 1, 14, 30, 0, 500, tzinfo=plus_two)
    store.add_key(make_key("k1", created_at=created))
    loaded = store.get_key("k1")
    assert loaded is not None and loaded.created_at == created
    assert loaded.created_at.utcoffset() == timedelta(0) and loaded.created_at.hour == 12


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        store.add_key(make_key("k1", created_at=datetime(2025, 1, 1)))
    assert store.get_key("k1") is None


def test_duplicate_id_conflicts(store: Store) -> None:
    store.add_key(make_key("k1"))
    with pytest.raises(errors.Conflict):
        store.add_key(make_key("k1", name="other"))
    assert [key.name for key in store.list_keys()] == ["key k1"]


def test_get_unknown_is_none(store: Store) -> None:
    assert store.get_key("missing") is None


def test_list_is_ordered_by_created_at_then_id(store: Store) -> None:
    for key_id, seconds in [("b", 10), ("c", 0), ("a", 10), ("d", 5)]:
        store.add_key(make_key(key_id, created_at=at(seconds)))
    assert [key.id for key in store.list_keys()] == ["c", "d", "a", "b"]


def test_revoke_keeps_the_first_time(store: Store) -> None:
    store.add_key(make_key("k1"))
    assert store.revoke_key("k1", at(100)) is True
    assert store.revoke_key("k1", at(200)) is True
    loaded = store.get_key("k1")
    assert loaded is not None and loaded.revoked_at == at(100)
    assert not loaded.is_active(at(50))


def test_revoke_unknown_is_false(store: Store) -> None:
    assert store.revoke_key("missing", at(0)) is False


def test_expiry_decides_activity(store: Store) -> None:
    store.add_key(make_key("k1", expires_at=at(60)))
    loaded = store.get_key("k1")
    assert loaded is not None
    assert loaded.is_active(at(59)) and not loaded.is_active(at(60))


def test_keys_do_not_touch_the_routing_revision(store: Store) -> None:
    store.add_key(make_key("k1"))
    store.revoke_key("k1", at(1))
    assert store.routing_revision() == 0
