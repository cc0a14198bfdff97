"""Waits on the instance side (issue 11, D7, D9): the total timeout bounds the wait for a response head,
and an instance's oversized response head is a 502, not relayed."""

from __future__ import annotations

import time

import httpx

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway


def test_total_bounds_the_wait_for_a_non_streaming_head(limited: LiveGateway, key: str, fake: FakeUpstream) -> None:
    limited.deploy("slow-total", [fake.url], timeouts={"total": 1.0, "first_byte": 60.0})
    started = time.monotonic()
    answer = httpx.post(limited.v1 + "/chat/completions", timeout=30,
                        headers={"Authorization": f"Bearer {key}", "x-fake-delay-ms": "8000"},
                        json={"model": "slow-total", "messages": [{"role": "user", "content": "hi"}]})
    assert answer.status_code == 504
    assert "total timeout" in answer.json()["error"]["message"]
    assert time.monotonic() - started < 6
