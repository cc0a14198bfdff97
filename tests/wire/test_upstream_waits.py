"""The instance side (issue 11, D9, D11): the total timeout bounds the wait for a response head, and one
connection an instance closes unanswered fails that request only, not the deployment for everyone."""

from __future__ import annotations

import asyncio
import threading
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


class ClosingUpstream:
    """A minimal HTTP/1.1 upstream: closes the connection unanswered on requests carrying `x-drop`, and
    answers everything else with an empty model list (enough for health probes and the relay)."""

    def __init__(self) -> None:
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ClosingUpstream:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = b'{"object": "list", "data": []}'
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                for line in head.lower().split(b"\r\n"):
                    if line.startswith(b"content-length:"):
                        await reader.readexactly(int(line.split(b":")[1]))
                if b"\r\nx-drop:" in head.lower():
                    break
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%b"
                             % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def test_one_connection_closed_unanswered_does_not_suspend_the_deployment(limited: LiveGateway, key: str) -> None:
    with ClosingUpstream() as upstream:
        limited.deploy("closing", [f"http://127.0.0.1:{upstream.port}/v1"])
        request = {"model": "closing", "messages": [{"role": "user", "content": "hi"}]}
        auth = {"Authorization": f"Bearer {key}"}
        dropped = httpx.post(limited.v1 + "/chat/completions", json=request, headers={**auth, "x-drop": "1"})
        assert dropped.status_code == 502
        assert httpx.post(limited.v1 + "/chat/completions", json=request, headers=auth).status_code == 200
        limited.api("DELETE", "/api/deployments/closing")
