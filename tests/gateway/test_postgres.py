"""The same gateway on a PostgreSQL store, and two gateways sharing it."""

from __future__ import annotations

import time

import httpx

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway


def test_two_gateways_share_a_postgres_store(tmp_path, postgres_url: str, fake: FakeUpstream) -> None:  # type: ignore[no-untyped-def]
    with LiveGateway(tmp_path / "a", database_url=postgres_url) as first, \
            LiveGateway(tmp_path / "b", database_url=postgres_url) as second:
        assert not (second.data_dir / "admin-key").exists()  # the shared store already had an admin key
        (second.data_dir / "admin-key").write_text(first.admin_key)
        key = first.create_key("shared")
        first.deploy("fake-model", [fake.url])
        second.wait_ready("fake-model")
        body = {"model": "fake-model", "messages": [{"role": "user", "content": "pg"}]}
        for gateway in (first, second):
            response = httpx.post(gateway.v1 + "/chat/completions", json=body,
                                  headers={"authorization": f"Bearer {key}"})
            assert response.status_code == 200, response.text
        second.cli("keys", "revoke", key.split("-")[1])
        time.sleep(1.1)
        response = httpx.post(first.v1 + "/chat/completions", json=body, headers={"authorization": f"Bearer {key}"})
        assert response.status_code == 401
