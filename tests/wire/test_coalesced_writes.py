"""A response head leaves in one write with what follows it in its loop turn, in order, on a real socket."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from modelport.coalesced_writes import CoalescingTransport

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class CountedTransport:
    """A real socket transport whose `write` and `writelines` calls are counted (the rest passes through)."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.transport.write(data)

    def writelines(self, pieces: tuple[bytes, ...]) -> None:
        self.writes.append(b"".join(pieces))  # one call, so one (vectored) send
        self.transport.writelines(pieces)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


async def _connected() -> tuple[CountedTransport, CoalescingTransport, socket.socket]:
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    transport, _ = await asyncio.get_running_loop().connect_accepted_socket(asyncio.Protocol, ours)
    counted = CountedTransport(transport)
    return counted, CoalescingTransport(counted, asyncio.get_running_loop()), theirs  # type: ignore[arg-type]


async def _received(peer: socket.socket, size: int) -> bytes:
    loop, got = asyncio.get_running_loop(), b""
    while len(got) < size:
        chunk = await asyncio.wait_for(loop.sock_recv(peer, 65536), 2)
        if not chunk:
            break
        got += chunk
    return got


async def test_a_head_leaves_with_the_body_written_after_it() -> None:
    counted, wrapped, peer = await _connected()
    wrapped.write(HEAD)
    assert counted.writes == []  # held for what follows
    wrapped.write(bytearray(b"ok"))
    assert counted.writes == [HEAD + b"ok"]
    wrapped.write(b"more")  # not a head: straight through
    assert counted.writes[1:] == [b"more"]
    assert await _received(peer, len(HEAD) + 6) == HEAD + b"okmore"
    wrapped.close()
    peer.close()


async def test_a_head_alone_leaves_at_the_end_of_its_turn() -> None:
    counted, wrapped, peer = await _connected()
    wrapped.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n")
    await asyncio.sleep(0)
    assert len(counted.writes) == 1
    wrapped.write(b"data: 1\n\n")  # a stream's events are never held
    assert len(counted.writes) == 2
    wrapped.close()
    peer.close()


async def test_close_sends_what_is_held_first_and_abort_drops_it() -> None:
    counted, wrapped, peer = await _connected()
    wrapped.write(HEAD)
    wrapped.close()
    assert wrapped.is_closing()
    assert await _received(peer, 1000) == HEAD  # then the end of the stream
    peer.close()

    counted, wrapped, peer = await _connected()
    wrapped.write(HEAD)
    wrapped.abort()
    await asyncio.sleep(0)
    assert counted.writes == []
    assert await _received(peer, 100) == b""
    peer.close()


@pytest.mark.parametrize("body", [b"", b"x" * 3_000_000])
async def test_a_head_and_a_body_of_any_size_arrive_whole_in_one_write(body: bytes) -> None:
    counted, wrapped, peer = await _connected()
    head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body)
    wrapped.write(head)
    wrapped.write(body)
    assert await _received(peer, len(head) + len(body)) == head + body
    assert len(counted.writes) == 1
    wrapped.close()
    peer.close()
