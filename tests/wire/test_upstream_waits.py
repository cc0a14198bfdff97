"""The instance side (issue 11, D9, D11): the total timeout bounds the wait for a response head, and one
connection an instance closes unanswered fails that request only, not the deployment for everyone."""

from __future__ import annotations

import time

import httpx

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway
from tests.scripted import ScriptedUpstream, json_answer


def test_total_bounds_the_wait_for_a_non_streaming_head(limited: LiveGateway, key: str, fake: FakeUpstream) -> None:
    limited.deploy("slow-total", [fake.url], timeouts={"total": 1.0, "first_byte": 60.0})
    started = time.monotonic()
    answer = httpx.post(limited.v1 + "/chat/completions", timeout=30,
                        headers={"Authorization": f"Bearer {key}", "x-fake-delay-ms": "8000"},
                        json={"model": "slow-total", "messages": [{"role": "user", "content": "hi"}]})
    assert answer.status_code == 504
    assert "total timeout" in answer.json()["error"]["message"]
    assert time.monotonic() - started < 6


def _close_on_x_drop(head: bytes) -> bytes | None:
    return None if b"\r\nx-drop:" in head.lower() else json_answer(b'{"object": "list", "data": []}')


def test_one_connection_closed_unanswered_does_not_suspend_the_deployment(limited: LiveGateway, key: str) -> None:
    with ScriptedUpstream(_close_on_x_drop) as upstream:
        limited.deploy("closing", [f"http://127.0.0.1:{upstream.port}/v1"])
        request = {"model": "closing", "messages": [{"role": "user", "content": "hi"}]}
        auth = {"Authorization": f"Bearer {key}"}
        dropped = httpx.post(limited.v1 + "/chat/completions", json=request, headers={**auth, "x-drop": "1"})
        assert dropped.status_code == 502
        assert httpx.post(limited.v1 + "/chat/completions", json=request, headers=auth).status_code == 200
        limited.api("DELETE", "/api/deployments/closing")
