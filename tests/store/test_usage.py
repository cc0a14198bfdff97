"""The usage ledger's tables on SQLite and PostgreSQL: batches, daily sums, reports, pruning."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from modelport.store import Store
from modelport.store.usage import UsageQuery
from modelport.store.usage_batch import UsageRow

DAY = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)


def row(**fields: Any) -> UsageRow:
    base: dict[str, Any] = {
        "id": uuid.uuid4().hex, "started_at": DAY, "duration_ms": 12.5, "first_byte_ms": 3.0, "key_id": "k1",
        "deployment": "chat", "instance": "chat/0", "endpoint": "/v1/chat/completions", "status": 200,
        "streamed": False, "client_gone": False, "outcome": "completed", "bytes_out": 100, "input_tokens": 5,
        "output_tokens": 7, "documents": 0, "images": 0, "characters": 0, "audio_seconds": 0.0,
    }
    return UsageRow(**(base | fields))


def test_a_batch_lands_in_raw_rows_and_daily_sums(store: Store) -> None:
    rows = [row(), row(key_id="k2", output_tokens=3), row(status=500, output_tokens=0, input_tokens=0)]
    assert store.usage.write(store.usage.batch(rows)) == 3
    assert store.usage.count_raw() == 3
    by_key = {r["group"]: r for r in store.usage.report(UsageQuery(group="key"))}
    assert by_key["k1"]["requests"] == 2 and by_key["k1"]["errors"] == 1
    assert by_key["k1"]["output_tokens"] == 7 and by_key["k2"]["output_tokens"] == 3
    (total,) = store.usage.report(UsageQuery())
    assert total["requests"] == 3 and total["input_tokens"] == 10 and total["bytes_out"] == 300


def test_a_batch_retried_after_its_commit_counts_once(store: Store) -> None:
    rows = [row(), row()]
    assert store.usage.write(store.usage.batch(rows)) == 2
    assert store.usage.write(store.usage.batch([*rows, row(output_tokens=1)]), retry=True) == 1
    (total,) = store.usage.report(UsageQuery())
    assert total["requests"] == 3 and total["output_tokens"] == 15


def test_concurrent_writers_lose_and_double_nothing(store_url: str) -> None:
    stores = [Store.open(store_url) for _ in range(3)]
    batches = [[row(deployment="d", endpoint="/v1/embeddings") for _ in range(450)] for _ in range(6)]
    try:
        threads = [threading.Thread(target=stores[i % 3].usage.write, args=(stores[i % 3].usage.batch(batch),))
                   for i, batch in enumerate(batches)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        (total,) = stores[0].usage.report(UsageQuery(deployment="d"))
        assert total["requests"] == 2700 and total["input_tokens"] == 13500  # several statements a batch
    finally:
        for opened in stores:
            opened.close()


def test_reports_filter_and_group_by_day_and_hour(store: Store) -> None:
    later = DAY + timedelta(days=1, hours=2)
    store.usage.write(store.usage.batch([row(), row(started_at=later, deployment="emb", endpoint="/v1/embeddings"),
                                         row(started_at=later + timedelta(minutes=5), deployment="emb")]))
    days = store.usage.report(UsageQuery(group="day"))
    assert [(d["group"], d["requests"]) for d in days] == [("2026-03-01", 1), ("2026-03-02", 2)]
    hours = store.usage.report(UsageQuery(group="hour", deployment="emb"))
    assert [(h["group"], h["requests"]) for h in hours] == [("2026-03-02T12:00Z", 2)]
    since = store.usage.report(UsageQuery(since=later, group="deployment"))
    assert [(d["group"], d["requests"]) for d in since] == [("emb", 2)]
    assert store.usage.report(UsageQuery(endpoint="/v1/embeddings"))[0]["requests"] == 1
    assert store.usage.report(UsageQuery(key_id="nobody")) == []


def test_pruning_drops_raw_rows_and_keeps_daily_sums(store: Store) -> None:
    store.usage.write(store.usage.batch([row(), row(started_at=DAY + timedelta(days=40))]))
    assert store.usage.prune(DAY + timedelta(days=30)) == 1
    assert store.usage.count_raw() == 1
    (total,) = store.usage.report(UsageQuery())
    assert total["requests"] == 2
    assert [h["requests"] for h in store.usage.report(UsageQuery(group="hour"))] == [1]


def test_the_migrations_have_one_head() -> None:
    from alembic.script import ScriptDirectory

    from modelport.store.database import alembic_config

    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1
