"""The listener's limits over raw sockets (issue 11, D2, D4, D12): heads capped, slow heads and bodies timed
out, unread answers dropped, connections capped, upgrade requests served as plain HTTP."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway
from tests.wire.conftest import PROXIED
from tests.wire.raw import connect, exchange, read_answer, read_until_closed, request_bytes


def test_a_head_past_64_kib_is_a_431_in_the_error_shape(limited: LiveGateway) -> None:
    answer = exchange(limited.port, request_bytes("GET", "/v1/models", {"X-Big": "a" * 70_000}))
    assert answer.status == 431
    assert answer.json()["error"]["code"] == "request_head_too_large"
    fields = {f"X-Field-{n}": "v" for n in range(200)}  # small, but too many of them
    assert exchange(limited.port, request_bytes("GET", "/v1/models", fields)).status == 431


def test_a_head_just_under_the_cap_is_served(limited: LiveGateway, key: str) -> None:
    answer = exchange(limited.port, request_bytes("GET", "/v1/models", {"Authorization": f"Bearer {key}",
                                                                        "X-Big": "a" * 60_000}))
    assert answer.status == 200


def test_a_huge_header_is_cut_off_early_and_never_reaches_an_instance(limited: LiveGateway, key: str,
                                                                      fake: FakeUpstream) -> None:
    """16 MB of header: refused after the first 64 KiB or so, while other clients are served."""
    before = len(fake.requests)
    with connect(limited.port) as sock:
        sock.sendall(f"GET /model/proxy/{PROXIED}/v1/echo/big HTTP/1.1\r\nHost: x\r\n"
                     f"Authorization: Bearer {key}\r\nX-Big: ".encode())
        sent = 0
        try:
            while sent < 16 * 1024 * 1024:
                sock.sendall(b"a" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert sent < 16 * 1024 * 1024  # the gateway closed the connection long before the end
    assert httpx.get(limited.url + "/healthz", timeout=5).status_code == 200
    assert not any(r.path == "/v1/echo/big" for r in fake.requests[before:])


def test_an_unfinished_head_gets_a_408_and_an_idle_connection_is_closed(limited: LiveGateway) -> None:
    with connect(limited.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        started = time.monotonic()
        reply = read_until_closed(sock)
        assert reply.startswith(b"HTTP/1.1 408 ")
        assert time.monotonic() - started < 8  # head timeout is 1 s here
    with connect(limited.port) as sock:  # never sends a byte
        assert read_until_closed(sock) == b""


def test_a_head_sent_a_byte_a_time_is_cut_off(limited: LiveGateway) -> None:
    with connect(limited.port) as sock:
        head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
        try:
            for byte in head:
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert read_until_closed(sock).startswith(b"HTTP/1.1 408 ")


def test_each_head_on_a_kept_alive_connection_has_its_own_clock(limited: LiveGateway) -> None:
    """The head timer (1 s here) is armed once per connection: a later head that begins just before it fires
    still gets its whole second, and one that stalls still gets its 408."""
    healthz = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    with connect(limited.port) as sock:
        sock.sendall(healthz + b"\r\n")
        assert read_answer(sock).status == 200
        time.sleep(0.8)
        sock.sendall(healthz)  # the rest 0.4 s later: past the first head's second, within this one's
        time.sleep(0.4)
        sock.sendall(b"\r\n")
        assert read_answer(sock).status == 200
        time.sleep(0.3)
        sock.sendall(healthz)  # and never the blank line
        started = time.monotonic()
        reply = read_until_closed(sock)
        assert reply.startswith(b"HTTP/1.1 408 "), reply
        assert 0.9 < time.monotonic() - started < 8


def test_a_body_that_stalls_on_a_kept_alive_connection_gets_a_408(limited: LiveGateway, key: str) -> None:
    """The body timer (1 s here) is armed once per connection: a later request's body has its own clock."""
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n")
    body = b'{"model": "nope", "messages": []}'
    with connect(limited.port) as sock:
        sock.sendall(head.format(length=len(body)).encode() + body)
        assert read_answer(sock).status == 404
        time.sleep(0.7)
        sock.sendall(head.format(length=len(body)).encode() + body[:10])
        time.sleep(0.45)  # past the first body's second, within this one's
        sock.sendall(body[10:])
        assert read_answer(sock).status == 404
        sock.sendall(head.format(length=len(body)).encode() + body[:10])  # and never the rest
        started = time.monotonic()
        answer = read_answer(sock)
        assert answer.status == 408 and answer.json()["error"]["code"] == "body_timeout"
        assert 0.9 < time.monotonic() - started < 8


def test_a_body_shorter_than_its_length_or_an_endless_chunked_one_gets_a_408(limited: LiveGateway,
                                                                            key: str) -> None:
    auth = f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
    short = f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 500\r\n\r\n{{\"model\""
    chunked = f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{auth}Transfer-Encoding: chunked\r\n\r\n5\r\n{{\"mod\r\n"
    for data in (short, chunked):
        with connect(limited.port) as sock:
            sock.sendall(data.encode())
            answer = read_answer(sock)
            assert answer.status == 408
            assert answer.json()["error"]["code"] == "body_timeout"
    streamed = (f"POST /model/proxy/{PROXIED}/v1/echo/upload HTTP/1.1\r\nHost: x\r\n{auth}"
                "Content-Length: 1000\r\n\r\n" + "x" * 10)  # streamed to the instance unread
    with connect(limited.port) as sock:
        sock.sendall(streamed.encode())
        assert read_answer(sock).status in (408, 502)  # 502: the instance saw its upload break off first
    assert httpx.get(limited.url + "/healthz", timeout=5).status_code == 200


def test_an_answer_nobody_reads_is_dropped(limited: LiveGateway, key: str, fake: FakeUpstream) -> None:
    """~40 MB of lines, more than every socket buffer on the way holds: the gateway stops waiting for us."""
    before = fake.cancelled
    with connect(limited.port, timeout=30, rcvbuf=4096) as sock:
        sock.sendall(request_bytes("GET", f"/model/proxy/{PROXIED}/v1/echo/lines?stream=3000000",
                                   {"Authorization": f"Bearer {key}"}))
        time.sleep(6)  # write timeout is 2 s here: the gateway gives up on us and closes
        received = read_until_closed(sock)  # what the buffers held, then the end (a socket.timeout if none)
    assert received.startswith(b"HTTP/1.1 200 ")
    assert b"line 2999999" not in received
    deadline = time.monotonic() + 10
    while fake.cancelled == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert fake.cancelled > before  # and the instance stopped making it


def test_an_upgrade_request_is_plain_http(limited: LiveGateway, key: str) -> None:
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    answer = exchange(limited.port, request_bytes("GET", "/v1/models", upgrade))
    assert answer.status == 401
    assert answer.json()["error"]["type"] == "authentication_error"
    answer = exchange(limited.port, request_bytes("GET", "/v1/models", {**upgrade, "Authorization": f"Bearer {key}"}))
    assert answer.status == 200 and answer.json()["object"] == "list"


def test_garbage_is_a_400_in_the_error_shape(limited: LiveGateway) -> None:
    answer = exchange(limited.port, b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
    assert answer.status == 400
    assert answer.json()["error"]["code"] == "invalid_http"


def test_connections_past_the_cap_are_refused_at_once(tmp_path: Path) -> None:
    with LiveGateway(tmp_path / "gw", "--max-connections", "20") as live:
        held = [connect(live.port) for _ in range(20)]
        try:
            with connect(live.port) as extra:
                reply = read_until_closed(extra)
            assert reply.startswith(b"HTTP/1.1 503 ")
            assert b"too_many_connections" in reply
        finally:
            for sock in held:
                sock.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the gateway notices the closed ones
            try:
                if httpx.get(live.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("the gateway did not serve again after the extra connections closed")


def test_a_large_header_the_gateway_takes_is_taken_by_a_worker_too(builtin_gateway: LiveGateway) -> None:
    """A 20 KB header field is within the gateway's 64 KiB head: the built-in worker behind it must take it
    too (aiohttp's own default is 8 KiB a field, which answered a plain-text 400)."""
    answer = httpx.post(builtin_gateway.v1 + "/embeddings", timeout=60, json={"model": "all-minilm-l6-v2",
                        "input": "hello"}, headers={"Authorization": f"Bearer {builtin_gateway.admin_key}",
                                                    "X-Big": "a" * 20_000})
    assert answer.status_code == 200, answer.text
