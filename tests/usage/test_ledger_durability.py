"""The ledger loses nothing and counts nothing twice: SIGTERM under load, streams cut short, `--workers 2`
and two gateways on one PostgreSQL."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa

from modelport.config import sqlite_url
from modelport.store import Store
from modelport.store.schema import usage_records
from modelport.store.usage import UsageQuery
from modelport.testing import FakeUpstream
from tests.harness import LiveGateway

CHAT = {"model": "fake-model", "messages": [{"role": "user", "content": "stream to me"}], "stream": True,
        "stream_options": {"include_usage": True}}


def rows_of(store_url: str, key_id: str) -> list[dict[str, Any]]:
    store = Store.open(store_url)
    try:
        with store.engine.connect() as connection:
            query = sa.select(usage_records).where(usage_records.c.key_id == key_id)
            return [dict(row) for row in connection.execute(query).mappings()]
    finally:
        store.close()


def stream_usage(response: httpx.Response) -> dict[str, int] | None:
    """The usage of a finished chat stream (read to the end of its body), None if it did not finish."""
    found, done = None, False
    for line in response.iter_lines():
        if line.startswith("data: {") and '"usage":{' in line:
            found = orjson.loads(line[6:])["usage"]
        done = done or line == "data: [DONE]"
    return found if done else None


def new_key(gateway: LiveGateway) -> tuple[str, str]:
    created = gateway.api("POST", "/api/keys", {"name": "durability"}).json()
    return created["id"], created["key"]


def test_sigterm_under_load_loses_no_record(tmp_path: Path, fake: FakeUpstream) -> None:
    live = LiveGateway(tmp_path / "gw", "--usage-flush-seconds", "600", "--drain-seconds", "10").start()
    live.deploy("fake-model", [fake.url])
    key_id, secret = new_key(live)
    headers = {"authorization": f"Bearer {secret}", "x-fake-chunk-delay-ms": "10"}
    finished: list[dict[str, int]] = []
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                try:
                    with http.stream("POST", live.v1 + "/chat/completions", json=CHAT, headers=headers) as answer:
                        got = stream_usage(answer) if answer.status_code == 200 else None
                except httpx.HTTPError:
                    return  # the listener closed
                if got is not None:
                    finished.append(got)

    threads = [threading.Thread(target=client) for _ in range(12)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(finished) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    live.stop()  # SIGTERM while the clients keep streaming: only the shutdown flush writes the ledger
    stop.set()
    for thread in threads:
        thread.join()
    rows = rows_of(sqlite_url(live.data_dir), key_id)
    completed = [row for row in rows if row["outcome"] == "completed"]
    assert len(finished) >= 60
    assert len(completed) == len(finished)
    assert sum(row["output_tokens"] for row in completed) == sum(u["completion_tokens"] for u in finished)
    assert sum(row["input_tokens"] for row in completed) == sum(u["prompt_tokens"] for u in finished)


def test_a_stream_cut_short_records_what_was_delivered(gateway: LiveGateway) -> None:
    key_id, secret = new_key(gateway)
    headers = {"authorization": f"Bearer {secret}", "x-fake-chunk-delay-ms": "200", "x-fake-chunks": "20"}
    with httpx.Client(timeout=30) as http:
        with http.stream("POST", gateway.v1 + "/chat/completions", json=CHAT, headers=headers) as answer:
            next(answer.iter_raw())  # the first piece, then the client hangs up
        cut = {**headers, "x-fake-drop-after": "3", "x-fake-chunk-delay-ms": "0"}
        with http.stream("POST", gateway.v1 + "/chat/completions", json=CHAT, headers=cut) as answer:
            assert stream_usage(answer) is None
    deadline = time.monotonic() + 20
    while len(rows := rows_of(gateway.database_url or sqlite_url(gateway.data_dir), key_id)) < 2:
        assert time.monotonic() < deadline, rows
        time.sleep(0.2)
    by_outcome = {row["outcome"]: row for row in rows}
    assert set(by_outcome) == {"client_gone", "aborted"}  # aborted: the instance broke the stream off
    assert by_outcome["client_gone"]["client_gone"] and by_outcome["client_gone"]["streamed"]
    assert 0 < by_outcome["client_gone"]["bytes_out"]
    assert by_outcome["aborted"]["status"] == 200 and by_outcome["aborted"]["output_tokens"] == 0


def client_gone_count(gateway: LiveGateway) -> float:
    """`modelport_client_gone_requests_total` of fake-model's chat endpoint, as /metrics gives it."""
    text = httpx.get(gateway.url + "/metrics", headers={"authorization": f"Bearer {gateway.admin_key}"}).text
    wanted = 'modelport_client_gone_requests_total{deployment="fake-model",endpoint="/v1/chat/completions"} '
    return sum(float(line[len(wanted):]) for line in text.splitlines() if line.startswith(wanted))


def test_a_client_that_hangs_up_while_the_instance_thinks_reads_as_client_gone(gateway: LiveGateway) -> None:
    key_id, secret = new_key(gateway)
    before = client_gone_count(gateway)
    body = {"model": "fake-model", "messages": [{"role": "user", "content": "take your time"}]}
    headers = {"authorization": f"Bearer {secret}", "x-fake-delay-ms": "3000"}
    try:  # the client gives up long before the head comes: the exchange in flight is cancelled
        httpx.post(gateway.v1 + "/chat/completions", json=body, headers=headers, timeout=0.5)
    except httpx.TimeoutException:
        pass
    deadline = time.monotonic() + 20
    while not (rows := rows_of(gateway.database_url or sqlite_url(gateway.data_dir), key_id)):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    (row,) = rows
    assert row["outcome"] == "client_gone" and row["client_gone"] and row["status"] == 0
    assert row["deployment"] == "fake-model" and row["bytes_out"] == 0 and row["duration_ms"] < 3000
    assert client_gone_count(gateway) == before + 1


def test_workers_and_gateways_on_one_postgres_count_each_request_once(tmp_path: Path, fake: FakeUpstream,
                                                                     postgres_url: str) -> None:
    first = LiveGateway(tmp_path / "a", "--workers", "2", database_url=postgres_url).start()
    second = LiveGateway(tmp_path / "b", "--usage-flush-seconds", "0.1", database_url=postgres_url).start()
    try:
        first.deploy("fake-model", [fake.url])
        (second.data_dir / "admin-key").write_text(first.admin_key)  # the store's key, made by the first
        second.wait_ready("fake-model")
        key_id, secret = new_key(first)
        body = {"model": "fake-model", "input": ["three little words"]}
        prompt_tokens = 0
        for gateway in (first, second) * 10:
            answer = httpx.post(gateway.v1 + "/embeddings", json=body, timeout=10,
                                headers={"authorization": f"Bearer {secret}", "connection": "close"})
            prompt_tokens += answer.json()["usage"]["prompt_tokens"]
    finally:
        first.stop()
        second.stop()
    store = Store.open(postgres_url)
    try:
        (total,) = store.usage.report(UsageQuery(key_id=key_id))
    finally:
        store.close()
    assert total["requests"] == 20 and total["input_tokens"] == prompt_tokens
