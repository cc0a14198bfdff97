"""What one loop turn writes to a client connection leaves in one write, in order, on a real socket."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from modelport.coalesced_writes import CoalescingTransport


class CountedTransport:
    """A real socket transport whose `write` calls are counted (everything else passes through)."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        self.transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


async def _connected() -> tuple[CountedTransport, socket.socket]:
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    transport, _ = await asyncio.get_running_loop().connect_accepted_socket(asyncio.Protocol, ours)
    return CountedTransport(transport), theirs


async def _received(peer: socket.socket, size: int) -> bytes:
    loop, got = asyncio.get_running_loop(), b""
    while len(got) < size:
        chunk = await asyncio.wait_for(loop.sock_recv(peer, 65536), 2)
        if not chunk:
            break
        got += chunk
    return got


async def test_the_writes_of_one_turn_leave_together_and_in_order() -> None:
    counted, peer = await _connected()
    wrapped = CoalescingTransport(counted, asyncio.get_running_loop())  # type: ignore[arg-type]
    wrapped.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    wrapped.write(bytearray(b"ok"))
    assert counted.writes == []  # held until the turn ends
    await asyncio.sleep(0)
    assert counted.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]
    wrapped.write(b"next")  # a later turn: a write of its own
    await asyncio.sleep(0)
    assert counted.writes[1:] == [b"next"]
    assert await _received(peer, 44) == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\noknext"
    wrapped.close()
    peer.close()


async def test_close_sends_what_is_held_first_and_abort_drops_it() -> None:
    counted, peer = await _connected()
    wrapped = CoalescingTransport(counted, asyncio.get_running_loop())  # type: ignore[arg-type]
    wrapped.write(b"last words")
    wrapped.close()
    assert wrapped.is_closing()
    assert await _received(peer, 100) == b"last words"  # then end of stream
    peer.close()

    counted, peer = await _connected()
    wrapped = CoalescingTransport(counted, asyncio.get_running_loop())  # type: ignore[arg-type]
    wrapped.write(b"never sent")
    wrapped.abort()
    await asyncio.sleep(0)
    assert counted.writes == []
    assert await _received(peer, 100) == b""
    peer.close()


@pytest.mark.parametrize("body", [b"", b"x" * 3_000_000])
async def test_a_head_and_a_body_of_any_size_written_in_one_turn_arrive_whole(body: bytes) -> None:
    """One write of both, however large (the transport's own buffering and flow control still apply)."""
    counted, peer = await _connected()
    wrapped = CoalescingTransport(counted, asyncio.get_running_loop())  # type: ignore[arg-type]
    head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body)
    wrapped.write(head)
    wrapped.write(body)
    assert await _received(peer, len(head) + len(body)) == head + body
    assert len(counted.writes) == 1
    wrapped.close()
    peer.close()
