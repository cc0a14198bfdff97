"""`/v1/responses` against an upstream that fails on purpose: error statuses kept, timeouts on time, pings
while the instance is silent, and nothing ever passed off as a finished response."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway

BODY = {"model": "fake-model", "input": "one two three"}
STREAM = {**BODY, "stream": True}


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory, fake: FakeUpstream) -> Iterator[LiveGateway]:
    """A gateway that pings every 0.3 s, with a deployment that times out after 1.5 s of silence."""
    with LiveGateway(Path(tmp_path_factory.mktemp("responses-faults")), "--ping-seconds", "0.3") as live:
        live.deploy("fake-model", [fake.url])
        live.deploy("quick-idle", [fake.url], upstream_model="fake-model", timeouts={"idle": 1.5})
        yield live


def post(gateway: LiveGateway, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(gateway.v1 + "/responses", json=body, timeout=20,
                      headers={"authorization": f"Bearer {gateway.admin_key}", **headers})


def events_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in response.text.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if lines:
            name, data = lines[0].removeprefix("event: "), orjson.loads(lines[1].removeprefix("data: "))
            assert data["type"] == name
            events.append(data)
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    return events


@pytest.mark.parametrize(("status", "kind"), [(400, "invalid_request_error"), (429, "rate_limit_error"),
                                              (500, "api_error"), (503, "service_unavailable")])
@pytest.mark.parametrize("body", [BODY, STREAM], ids=["whole", "stream"])
def test_an_upstream_error_keeps_its_status_and_message(quick: LiveGateway, body: dict[str, Any], status: int,
                                                        kind: str) -> None:
    response = post(quick, body, **{"x-fake-status": str(status)})
    assert response.status_code == status
    error = response.json()["error"]
    assert error["type"] == kind and error["message"] == f"fake error with status {status}"


def test_a_silent_instance_gets_pings_then_response_failed_on_time(quick: LiveGateway) -> None:
    started = time.monotonic()
    response = post(quick, {**STREAM, "model": "quick-idle"}, **{"x-fake-fault": "stall", "x-fake-fault-after": "0"})
    assert time.monotonic() - started < 8
    assert ": ping" in response.text
    events = events_of(response)
    assert [event["type"] for event in events] == ["response.created", "response.in_progress", "error",
                                                   "response.failed"]
    assert events[2]["code"] == "server_error" and "1.5 s" in events[2]["message"]
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and "1.5 s" in failed["error"]["message"]


def test_a_silent_whole_answer_is_a_504(quick: LiveGateway) -> None:
    response = post(quick, {**BODY, "model": "quick-idle"}, **{"x-fake-fault": "stall"})
    assert response.status_code == 504 and response.json()["error"]["code"] == "upstream_timeout"


def test_a_stream_cut_short_fails_with_what_came_before(quick: LiveGateway) -> None:
    events = events_of(post(quick, STREAM, **{"x-fake-fault": "cut", "x-fake-fault-after": "3",
                                              "x-fake-chunk-delay-ms": "50"}))
    kinds = [event["type"] for event in events]
    assert "response.output_text.delta" in kinds and kinds[-1] == "response.failed"
    assert "response.completed" not in kinds and "before it finished" in events[-1]["response"]["error"]["message"]


def test_a_failed_stream_is_not_stored(quick: LiveGateway) -> None:
    events = events_of(post(quick, STREAM, **{"x-fake-fault": "cut", "x-fake-chunk-delay-ms": "50"}))
    response_id = events[0]["response"]["id"]
    found = httpx.get(f"{quick.v1}/responses/{response_id}", headers={"authorization": f"Bearer {quick.admin_key}"})
    assert found.status_code == 404 and found.json()["error"]["type"] == "not_found_error"


def test_methods_and_unknown_paths(quick: LiveGateway) -> None:
    headers = {"authorization": f"Bearer {quick.admin_key}"}
    assert httpx.put(quick.v1 + "/responses/resp_x", headers=headers).status_code == 405
    assert httpx.get(quick.v1 + "/responses", headers=headers).status_code == 405
    assert httpx.get(quick.v1 + "/responses/resp_x").status_code == 401
    assert httpx.post(quick.v1 + "/responses", content=b"{nope", headers=headers).json()["error"]["code"] == \
        "invalid_json"
