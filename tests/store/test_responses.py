"""The `responses` table: stored per key, hidden once expired, purged in batches, bounded in size."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from modelport.store import Store
from modelport.store.responses import MAX_STORED_BYTES, StoredResponse
from modelport.store.schema import responses

from .factories import BASE_TIME


def stored(response_id: str, key_id: str = "k1", days: float = 1.0) -> StoredResponse:
    return StoredResponse(id=response_id, key_id=key_id, response={"id": response_id, "object": "response"},
                          conversation=[{"type": "message", "role": "user", "content": "hi"}],
                          created_at=BASE_TIME, expires_at=BASE_TIME + timedelta(days=days))


def count(store: Store) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(responses)).scalar_one())


def test_a_response_is_visible_only_to_its_key(store: Store) -> None:
    store.responses.put(stored("resp_a"), BASE_TIME)
    found = store.responses.get("resp_a", "k1", BASE_TIME)
    assert found is not None and found.response["id"] == "resp_a"
    assert found.conversation == [{"type": "message", "role": "user", "content": "hi"}]
    assert found.expires_at == BASE_TIME + timedelta(days=1)
    assert store.responses.get("resp_a", "k2", BASE_TIME) is None
    assert store.responses.delete("resp_a", "k2") is False
    assert store.responses.delete("resp_a", "k1") is True
    assert store.responses.get("resp_a", "k1", BASE_TIME) is None
    assert store.responses.delete("resp_a", "k1") is False


def test_expired_responses_are_hidden_then_purged(store: Store) -> None:
    store.responses.put(stored("resp_old", days=1), BASE_TIME)
    store.responses.put(stored("resp_new", days=10), BASE_TIME)
    later = BASE_TIME + timedelta(days=2)
    assert store.responses.get("resp_old", "k1", later) is None
    assert store.responses.get("resp_new", "k1", later) is not None
    assert store.responses.purge(later) == 1
    assert count(store) == 1
    store.responses.put(stored("resp_newer", days=30), BASE_TIME + timedelta(days=11))  # a write purges too
    assert count(store) == 1 and store.responses.get("resp_newer", "k1", BASE_TIME) is not None


def test_a_response_over_the_size_limit_is_refused(store: Store) -> None:
    huge = StoredResponse(id="resp_big", key_id="k1", response={}, conversation=[{"text": "x" * MAX_STORED_BYTES}],
                          created_at=BASE_TIME, expires_at=BASE_TIME + timedelta(days=1))
    with pytest.raises(ValueError):
        store.responses.put(huge, BASE_TIME)
    assert count(store) == 0
