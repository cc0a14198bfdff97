"""A full instance (503 + `x-modelport-refused`) sends the request to another replica; it is not taken out
of rotation, and its refusal is the answer when no replica can serve (issue 12, admission by load)."""

from __future__ import annotations

import httpx

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway
from tests.scripted import ScriptedUpstream, json_answer

FULL = json_answer(b'{"error": {"message": "busy", "type": "service_unavailable", "param": null, "code": "queue_full"}}',
                   "503 Service Unavailable", b"retry-after: 1\r\nx-modelport-refused: queue_full\r\n")


def _full_but_healthy(head: bytes) -> bytes:
    if head.startswith(b"GET "):  # health probes: a full instance is still a healthy one
        return json_answer(b'{"object": "list", "data": [{"id": "fake-model", "object": "model"}]}')
    return FULL


def test_a_full_replica_hands_the_request_to_another(limited: LiveGateway, key: str, fake: FakeUpstream) -> None:
    with ScriptedUpstream(_full_but_healthy) as full:
        limited.deploy("two-replicas", [full.url, fake.url], upstream_model="fake-model")
        request = {"model": "two-replicas", "messages": [{"role": "user", "content": "hi"}]}
        auth = {"Authorization": f"Bearer {key}"}
        answers = [httpx.post(limited.v1 + "/chat/completions", json=request, headers=auth) for _ in range(6)]
        assert [a.status_code for a in answers] == [200] * 6
        refused = [h for h in full.heads if h.startswith(b"POST ")]
        assert len(refused) >= 3  # still tried every time it had the fewest requests: never suspended
        limited.api("DELETE", "/api/deployments/two-replicas")


def test_when_every_replica_is_full_the_client_gets_the_refusal(limited: LiveGateway, key: str) -> None:
    with ScriptedUpstream(_full_but_healthy) as first, ScriptedUpstream(_full_but_healthy) as second:
        limited.deploy("all-full", [first.url, second.url])
        answer = httpx.post(limited.v1 + "/chat/completions", headers={"Authorization": f"Bearer {key}"},
                            json={"model": "all-full", "messages": [{"role": "user", "content": "hi"}]})
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        assert answer.json()["error"]["code"] == "queue_full"
        assert sum(h.startswith(b"POST ") for h in first.heads + second.heads) == 2  # each tried once
        limited.api("DELETE", "/api/deployments/all-full")
