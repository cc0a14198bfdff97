"""A stream still open when the drain expires ends with an error event, not mid-event (issue 11, D10)."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import httpx

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway

STREAM = {"model": "fake-model", "stream": True, "messages": [{"role": "user", "content": "one two three four"}]}


def test_a_stream_outliving_the_drain_gets_an_error_event(tmp_path: Path, fake: FakeUpstream) -> None:
    live = LiveGateway(tmp_path / "gw", "--drain-seconds", "2").start()
    try:
        live.deploy("fake-model", [fake.url])
        result: dict[str, bytes] = {}

        def long_stream() -> None:
            headers = {"authorization": f"Bearer {live.admin_key}", "x-fake-chunk-delay-ms": "400",
                       "x-fake-chunks": "40"}
            result["body"] = httpx.post(live.v1 + "/chat/completions", json=STREAM, headers=headers,
                                        timeout=30).content

        client = threading.Thread(target=long_stream)
        client.start()
        time.sleep(1.0)
        assert live.process is not None
        live.process.send_signal(signal.SIGTERM)
        client.join(20)
        events = [line[len(b"data: "):] for line in result["body"].split(b"\n") if line.startswith(b"data: ")]
        last = json.loads(events[-1])
        assert last["error"]["code"] == "shutting_down"
        assert len(events) < 40
        assert live.process.wait(15) in (0, -signal.SIGTERM)
    finally:
        live.stop()
