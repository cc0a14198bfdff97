"""The relay's HTTP/1.1 client against real servers: the fake upstream, and tiny asyncio servers for the
edge cases (trailers, read-until-close, dead keep-alive connections, resets, 1xx, HEAD, back-pressure)."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
import pytest
import uvloop

from modelport.relay.headers import upstream_headers
from modelport.relay.http1 import (
    BrokenResponse,
    ConnectFailed,
    HeadTimeout,
    NotDelivered,
    Pool,
    ProtocolError,
    Response,
    UnsafeRequest,
)
from modelport.testing import FakeUpstream

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


class Server:
    """A scripted HTTP server: `handle(reader, writer, nth_connection)` runs once per connection."""

    def __init__(self, handle: Handler) -> None:
        self.handle = handle
        self.connections = 0
        self.lost = asyncio.Event()
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handle(reader, writer, self.connections)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self.lost.set()


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One request's head (its body, if any, is skipped by content-length); None at end of stream."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":")[1]))
    return head


def keep_alive_ok(body: bytes = b"ok") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\ncontent-type: text/plain\r\n\r\n%b" % (len(body), body)


async def get(pool: Pool, url: str, target: str, method: str = "GET", headers: bytes = b"",
              body: object = None, length: int | None = None) -> Response:
    origin, base = pool.resolve(url)
    return await pool.request(origin, method, base + target, headers, body, length,  # type: ignore[arg-type]
                              connect_timeout=5)


@pytest.fixture
async def pool() -> AsyncIterator[Pool]:
    p = Pool()
    yield p
    await p.close()


async def test_get_json_reuses_the_connection(pool: Pool, fake: FakeUpstream) -> None:
    for _ in range(3):
        response = await get(pool, fake.root_url, "/echo/a?x=1", headers=b"x-Test: yes\r\n")
        data = orjson.loads(await response.read())
        assert response.status == 200 and response.get("Content-Type", "").startswith("application/json")
        assert data["path"] == "/echo/a" and data["query"] == "x=1" and data["headers"]["x-test"] == "yes"
        assert data["headers"]["host"] == f"127.0.0.1:{fake.port}"
    origin, _ = pool.resolve(fake.root_url)
    assert len(origin.open) == 1 and len(origin.idle) == 1


async def test_twenty_megabyte_bodies_as_bytes_and_as_streams(pool: Pool, fake: FakeUpstream) -> None:
    payload = bytes(range(256)) * (20 * 4096)
    digest = hashlib.sha256(payload).hexdigest()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 1 << 20):
            yield payload[start:start + (1 << 20)]

    for body, length in ((payload, None), (chunks, len(payload)), (chunks, None)):
        response = await get(pool, fake.root_url, "/echo/up", "POST", body=body, length=length)
        data = orjson.loads(await response.read())
        assert (data["body_length"], data["body_sha256"]) == (len(payload), digest)


async def test_chunked_stream_arrives_in_pieces(pool: Pool, fake: FakeUpstream) -> None:
    response = await get(pool, fake.root_url, "/echo/s?stream=40")
    assert response.header(b"transfer-encoding") == b"chunked"
    pieces = []
    while chunk := await response.readany():
        pieces.append(chunk)
    assert b"".join(pieces) == b"".join(b"line %d\n" % n for n in range(40))
    assert response.is_eof()


async def test_sse_stream_and_a_dropped_one(pool: Pool, fake: FakeUpstream) -> None:
    body = orjson.dumps({"model": "fake-model", "stream": True, "messages": [{"role": "user", "content": "a"}]})
    headers = b"content-type: application/json\r\nx-fake-chunks: 5\r\nx-fake-chunk-delay-ms: 10\r\n"
    response = await get(pool, fake.url, "/chat/completions", "POST", headers, body)
    assert response.get("content-type", "").startswith("text/event-stream")
    reads = []
    while chunk := await response.readany():
        reads.append(chunk)
    assert len(reads) >= 5 and b"".join(reads).rstrip().endswith(b"data: [DONE]")
    response = await get(pool, fake.url, "/chat/completions", "POST", headers + b"x-fake-drop-after: 2\r\n", body)
    with pytest.raises(BrokenResponse):
        await response.read()


async def test_chunked_with_trailers_and_read_until_close(pool: Pool) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, nth: int) -> None:
        await read_request(reader)
        if nth == 1:
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-sum\r\n\r\n"
                         b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-sum: 11\r\n\r\n")
            await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end")
        await writer.drain()

    async with Server(handle) as server:
        first = await get(pool, server.url, "/")
        assert await first.read() == b"hello world"
        second = await get(pool, server.url, "/")  # same connection, then closed by the server
        assert await second.read() == b"until the end"
        assert server.connections == 1


async def test_dead_keep_alive_connection_is_retried_on_a_fresh_one(pool: Pool) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, nth: int) -> None:
        await read_request(reader)
        writer.write(keep_alive_ok(b"%d" % nth))
        await writer.drain()
        await read_request(reader)  # the next request on this connection: hang up without answering

    async with Server(handle) as server:
        assert await (await get(pool, server.url, "/")).read() == b"1"
        assert await (await get(pool, server.url, "/", "POST", body=b"again")).read() == b"2"
        assert server.connections == 2


async def test_fresh_connection_closed_before_answering_is_not_delivered(pool: Pool) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, nth: int) -> None:
        await read_request(reader)

    async with Server(handle) as server:
        with pytest.raises(NotDelivered):
            await get(pool, server.url, "/")
        assert server.connections == 1


async def test_refused_connection_is_not_delivered(pool: Pool) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConnectFailed):
        await get(pool, f"http://127.0.0.1:{port}", "/")


async def test_reset_mid_body_breaks_the_response(pool: Pool) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, nth: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n" + b"x" * 100)
        await writer.drain()
        await asyncio.sleep(0.05)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async with Server(handle) as server:
        response = await get(pool, server.url, "/")
        assert await response.readany() == b"x" * 100
        with pytest.raises(BrokenResponse):
            await response.read()
        origin, _ = pool.resolve(server.url)
        assert not origin.open


async def test_informational_head_and_no_content(pool: Pool) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, nth: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n" + keep_alive_ok())
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 12345\r\n\r\n")  # HEAD: no body follows
        await read_request(reader)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await read_request(reader)
        writer.write(keep_alive_ok(b"last"))
        await writer.drain()
        await read_request(reader)

    async with Server(handle) as server:
        first = await get(pool, server.url, "/")
        assert first.status == 200 and first.header(b"link") is None and await first.read() == b"ok"
        head = await get(pool, server.url, "/", "HEAD")
        assert head.content_length == 12345 and head.is_eof() and await head.read() == b""
        empty = await get(pool, server.url, "/", "DELETE")
        assert empty.status == 204 and empty.is_eof()
        assert await (await get(pool, server.url, "/")).read() == b"last"
        assert server.connections == 1


async def test_garbage_is_a_protocol_error(pool: Pool) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, nth: int) -> None:
        await read_request(reader)
        writer.write(b"SPDY/9 what\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.5)

    async with Server(handle) as server:
        with pytest.raises(ProtocolError):
            await get(pool, server.url, "/")


async def test_reading_pauses_while_fifty_megabytes_wait(pool: Pool) -> None:
    size = 50 << 20
    sent = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, nth: int) -> None:
        nonlocal sent
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size)
        block = b"z" * (1 << 20)
        for _ in range(50):
            writer.write(block)
            await writer.drain()
            sent += len(block)

    async with Server(handle) as server:
        response = await get(pool, server.url, "/")
        await asyncio.sleep(0.3)
        assert sent < size  # the client stopped reading: the server is blocked on a full socket
        assert response._size < 8 << 20
        total = 0
        while chunk := await response.readany():
            total += len(chunk)
        assert total == size and sent == size


async def test_closing_an_unfinished_response_drops_the_connection(pool: Pool) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, nth: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")
        await writer.drain()
        await reader.read()  # until the client goes

    async with Server(handle) as server:
        response = await get(pool, server.url, "/")
        assert await response.readany() == b"abc"
        response.close()
        await asyncio.wait_for(server.lost.wait(), 2)
        origin, _ = pool.resolve(server.url)
        assert not origin.open and not origin.idle


async def test_idle_connections_expire() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, nth: int) -> None:
        while await read_request(reader) is not None:
            writer.write(keep_alive_ok())
            await writer.drain()

    short = Pool(idle_seconds=0.1)
    try:
        async with Server(handle) as server:
            await (await get(short, server.url, "/")).read()
            await (await get(short, server.url, "/")).read()
            assert server.connections == 1
            await asyncio.sleep(0.25)
            origin, _ = short.resolve(server.url)
            assert not origin.idle  # swept
            await (await get(short, server.url, "/")).read()
            assert server.connections == 2
    finally:
        await short.close()


async def test_an_oversized_response_head_is_a_protocol_error(pool: Pool) -> None:
    """An instance may not make the gateway buffer an endless head (issue 11, D7): 64 KiB, 256 fields."""
    heads = [b"HTTP/1.1 200 OK\r\nx-big: " + b"a" * 200_000 + b"\r\ncontent-length: 2\r\n\r\nok",
             b"HTTP/1.1 200 OK\r\n" + b"x-f: v\r\n" * 300 + b"content-length: 2\r\n\r\nok",
             b"HTTP/1.1 200 OK\r\nx-endless: " + b"a" * 1_000_000]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, nth: int) -> None:
        await read_request(reader)
        writer.write(heads[nth - 1])
        await writer.drain()
        await asyncio.sleep(0.5)

    async with Server(handle) as server:
        for _ in heads:
            with pytest.raises(ProtocolError, match="exceeds"):
                await get(pool, server.url, "/")


async def test_no_head_by_the_deadline_is_a_timeout_and_the_connection_is_dropped(pool: Pool) -> None:
    """On a reused connection, on a fresh one, and while a streamed body is still being sent."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, nth: int) -> None:
        if nth == 1:
            await read_request(reader)
            writer.write(keep_alive_ok())
            await writer.drain()
        await reader.read()  # never answers again

    async def slow_body() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x"
            await asyncio.sleep(0.02)

    async with Server(handle) as server:
        origin, base = pool.resolve(server.url)
        await (await get(pool, server.url, "/")).read()
        assert origin.idle
        loop = asyncio.get_running_loop()
        for body, length in ((b"{}", None), (None, None), (slow_body(), 100)):
            started = loop.time()
            with pytest.raises(HeadTimeout):
                await pool.request(origin, "POST", base + "/", b"", body, length, connect_timeout=5,
                                   deadline=started + 0.2)
            assert loop.time() - started < 1.5  # the slow body would take 2 s: its sending stopped
            assert not origin.idle
        assert server.connections == 3  # the first on the kept-alive connection, then a fresh one each


async def test_a_target_with_line_breaks_or_spaces_is_never_sent(pool: Pool, fake: FakeUpstream) -> None:
    for target in ("/echo/a HTTP/1.1\r\nx-injected: yes", "/echo/a b", "/echo/\x00", "/echo/caf\xe9", "echo"):
        with pytest.raises(UnsafeRequest):
            await get(pool, fake.root_url, target)
    assert not any("x-injected" in r.headers for r in fake.requests)


def test_a_header_value_with_a_line_break_is_never_sent() -> None:
    for value in (b"a\r\nx-injected: yes", b"a\nb", b"a\rb", b"a\x00b"):
        with pytest.raises(UnsafeRequest):
            upstream_headers([(b"x-trace", value)], b"Bearer instance")
    with pytest.raises(UnsafeRequest):
        upstream_headers([], b"Bearer instance", {b"x-upstream": b"k\r\nx-injected: yes"})


def test_upstream_header_block() -> None:
    client = [(b"host", b"gw"), (b"authorization", b"Bearer client-key"), (b"content-type", b"text/plain"),
              (b"x-trace", b"1"), (b"connection", b"keep-alive"), (b"content-length", b"3")]
    block = upstream_headers(client, b"Bearer instance", {b"content-type": b"application/json"})
    assert block == (b"x-trace: 1\r\naccept-encoding: identity\r\nauthorization: Bearer instance\r\n"
                     b"content-type: application/json\r\n")
    assert upstream_headers([(b"accept-encoding", b"gzip")], None) == b"accept-encoding: gzip\r\n"


_SCENARIOS = [name for name in list(globals()) if name.startswith("test_") and "pool" in
              inspect.signature(globals()[name]).parameters]


@pytest.mark.parametrize("name", _SCENARIOS)
def test_on_uvloop(name: str, fake: FakeUpstream) -> None:
    """The same scenarios on uvloop, which the gateway runs on (its transports differ in detail)."""
    scenario = globals()[name]

    async def run() -> None:
        pool = Pool()
        try:
            await (scenario(pool, fake) if "fake" in inspect.signature(scenario).parameters else scenario(pool))
        finally:
            await pool.close()

    uvloop.run(run())
