"""`/v1/messages` translated to chat completions, against an upstream that fails on purpose (`x-fake-fault`).

Black-box: a live `modelport serve` with the fake upstream deployed by URL, driven with raw HTTP and with the
official `anthropic` SDK. An upstream failure is never an empty successful message: before any byte reached
the client it is an Anthropic-shaped error with a 5xx status, after `message_start` an `error` event that ends
the stream, and in no case a made-up `end_turn`.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway
from tests.translate.anthropic_openai_helpers import parse_anthropic_sse

BODY: dict[str, Any] = {"model": "fake-model", "max_tokens": 50,
                        "messages": [{"role": "user", "content": "one two three four five six"}]}
STREAM = {**BODY, "stream": True}


@pytest.fixture(scope="module")
def slow_pings(tmp_path_factory: pytest.TempPathFactory, fake: FakeUpstream) -> Iterator[LiveGateway]:
    """A gateway whose keep-alive pings come only every 60 s, with deployments of short timeouts."""
    with LiveGateway(Path(tmp_path_factory.mktemp("slow-pings")), "--ping-seconds", "60") as live:
        live.deploy("quick-idle", [fake.url], upstream_model="fake-model", timeouts={"idle": 1.0})
        live.deploy("quick-total", [fake.url], upstream_model="fake-model", timeouts={"idle": 30, "total": 1.5})
        yield live


def messages(gateway: LiveGateway, body: dict[str, Any], timeout: float = 20, **headers: str) -> httpx.Response:
    return httpx.post(gateway.url + "/v1/messages", json=body, timeout=timeout,
                      headers={"x-api-key": gateway.admin_key, "anthropic-version": "2023-06-01", **headers})


def assert_anthropic_error(response: httpx.Response, status: int, kind: str = "api_error") -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == kind and set(body["error"]) == {"type", "message"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return str(body["error"]["message"])


def assert_ends_with_error_event(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = parse_anthropic_sse(response.content)
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-1] == "error", names
    assert "message_stop" not in names and "message_delta" not in names and b"end_turn" not in response.content
    assert events[-1][1]["type"] == "error" and events[-1][1]["error"]["type"] in ("api_error", "overloaded_error")
    return events


@pytest.mark.parametrize("fault", ["html", "invalid-json", "wrong-shape", "missing-fields", "cut"])
def test_whole_answer_gone_wrong_is_a_502(gateway: LiveGateway, fault: str) -> None:
    assert_anthropic_error(messages(gateway, BODY, **{"x-fake-fault": fault}), 502)


@pytest.mark.parametrize("fault", ["html", "invalid-json", "wrong-shape", "cut"])
def test_stream_gone_wrong_before_any_event_is_a_502(gateway: LiveGateway, fault: str) -> None:
    response = messages(gateway, STREAM, **{"x-fake-fault": fault, "x-fake-fault-after": "0"})
    assert_anthropic_error(response, 502)


@pytest.mark.parametrize("fault", ["invalid-json", "wrong-shape", "cut"])
def test_stream_gone_wrong_midway_ends_with_an_error_event(gateway: LiveGateway, fault: str) -> None:
    apart = {"x-fake-chunk-delay-ms": "100"}  # so the first events go out before the fault arrives
    events = assert_ends_with_error_event(messages(gateway, STREAM, **{"x-fake-fault": fault}, **apart))
    assert events[2] == ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                 "delta": {"type": "text_delta", "text": "Echo"}})


def test_stream_dropped_midway_ends_with_an_error_event(gateway: LiveGateway) -> None:
    assert_ends_with_error_event(messages(gateway, STREAM, **{"x-fake-drop-after": "3"}))


@pytest.mark.parametrize(("status", "kind"), [(400, "invalid_request_error"), (429, "rate_limit_error"),
                                              (500, "api_error"), (503, "overloaded_error")])
@pytest.mark.parametrize("body", [BODY, STREAM], ids=["whole", "stream"])
def test_upstream_error_answer_keeps_its_status_and_message(
    gateway: LiveGateway, body: dict[str, Any], status: int, kind: str
) -> None:
    message = assert_anthropic_error(messages(gateway, body, **{"x-fake-status": str(status)}), status, kind)
    assert message == f"fake error with status {status}"


def test_idle_timeout_fires_on_time_not_at_the_next_ping(slow_pings: LiveGateway) -> None:
    started = time.monotonic()
    response = messages(slow_pings, {**STREAM, "model": "quick-idle"}, **{"x-fake-fault": "stall"})
    events = assert_ends_with_error_event(response)
    assert time.monotonic() - started < 8, "the idle timeout (1 s) waited for a ping (60 s)"
    assert "1 s" in events[-1][1]["error"]["message"]


def test_idle_timeout_before_any_event_is_a_504(slow_pings: LiveGateway) -> None:
    started = time.monotonic()
    stalled = {"x-fake-fault": "stall", "x-fake-fault-after": "0"}
    assert_anthropic_error(messages(slow_pings, {**STREAM, "model": "quick-idle"}, **stalled), 504)
    assert_anthropic_error(messages(slow_pings, {**BODY, "model": "quick-idle"}, **{"x-fake-fault": "stall"}), 504)
    assert time.monotonic() - started < 12


def test_total_timeout_ends_a_trickling_stream_on_time(slow_pings: LiveGateway) -> None:
    started = time.monotonic()
    trickle = {"x-fake-chunks": "40", "x-fake-chunk-delay-ms": "250"}  # 10 s in all, never idle for 1 s
    response = messages(slow_pings, {**STREAM, "model": "quick-total"}, timeout=30, **trickle)
    events = assert_ends_with_error_event(response)
    assert time.monotonic() - started < 6, "the total timeout (1.5 s) did not end the stream"
    assert "total" in events[-1][1]["error"]["message"]


# --- the official SDK ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def claude(gateway: LiveGateway) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(base_url=gateway.url, api_key=gateway.admin_key, max_retries=0, timeout=20)
    yield client
    client.close()


@pytest.mark.parametrize("fault", ["html", "invalid-json", "wrong-shape", "missing-fields"])
def test_sdk_create_raises_on_a_broken_answer(claude: anthropic.Anthropic, fault: str) -> None:
    with pytest.raises(anthropic.InternalServerError) as caught:
        claude.messages.create(**BODY, extra_headers={"x-fake-fault": fault})
    assert caught.value.status_code == 502


@pytest.mark.parametrize(("fault", "after"), [("cut", "2"), ("cut", "0"), ("invalid-json", "2"), ("html", "0"),
                                              ("wrong-shape", "3")])
def test_sdk_stream_raises_never_returns_an_empty_message(claude: anthropic.Anthropic, fault: str, after: str) -> None:
    headers = {"x-fake-fault": fault, "x-fake-fault-after": after}
    with pytest.raises(anthropic.APIStatusError), claude.messages.stream(**BODY, extra_headers=headers) as stream:
        stream.get_final_message()


def test_sdk_stream_of_a_stalled_upstream_raises_soon(slow_pings: LiveGateway) -> None:
    client = anthropic.Anthropic(base_url=slow_pings.url, api_key=slow_pings.admin_key, max_retries=0, timeout=20)
    started = time.monotonic()
    with pytest.raises(anthropic.APIStatusError), client.messages.stream(
            **{**BODY, "model": "quick-idle"}, extra_headers={"x-fake-fault": "stall"}) as stream:
        stream.get_final_message()
    assert time.monotonic() - started < 8
    client.close()


# --- the OpenAI path, for comparison: a renamed model's whole JSON answer is rewritten, so check it copes ---


@pytest.fixture(scope="module")
def renamed(gateway: LiveGateway, fake: FakeUpstream) -> str:
    gateway.deploy("renamed-faulty", [fake.url], upstream_model="fake-model")
    return "renamed-faulty"


@pytest.mark.parametrize("fault", ["html", "invalid-json", "wrong-shape", "missing-fields"])
def test_renamed_model_answer_gone_wrong_is_relayed_not_a_500(gateway: LiveGateway, fake: FakeUpstream,
                                                             renamed: str, fault: str) -> None:
    body = {"model": renamed, "messages": BODY["messages"]}
    headers = {"authorization": f"Bearer {gateway.admin_key}", "x-fake-fault": fault}
    relayed = httpx.post(gateway.v1 + "/chat/completions", json=body, headers=headers, timeout=20)
    direct = httpx.post(fake.url + "/chat/completions", json={**body, "model": "fake-model"}, headers=headers)
    assert relayed.status_code == 200 and relayed.headers["content-type"] == direct.headers["content-type"]
    if fault == "html":
        assert relayed.content == direct.content
    elif fault == "invalid-json":
        assert relayed.content.startswith(b'{"id":"chatcmpl-') and len(relayed.content) == len(direct.content)
    else:
        assert f'"model":"{renamed}"' in relayed.text and "fake-model" not in relayed.text


def test_a_translated_stream_outliving_the_drain_ends_with_an_error_event(tmp_path: Path, fake: FakeUpstream) -> None:
    live = LiveGateway(tmp_path / "gw", "--drain-seconds", "2").start()
    try:
        live.deploy("fake-model", [fake.url])
        result: dict[str, httpx.Response] = {}
        trickle = {"x-fake-chunk-delay-ms": "400", "x-fake-chunks": "40"}
        client = threading.Thread(target=lambda: result.update(response=messages(live, STREAM, 30, **trickle)))
        client.start()
        time.sleep(1.0)
        assert live.process is not None
        live.process.send_signal(signal.SIGTERM)
        client.join(20)
        events = assert_ends_with_error_event(result["response"])
        assert events[-1][1]["error"]["type"] == "overloaded_error"
        assert live.process.wait(15) in (0, -signal.SIGTERM)
    finally:
        live.stop()
