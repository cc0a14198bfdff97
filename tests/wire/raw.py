"""Raw-socket HTTP/1.1 for wire-level tests: bytes exactly as written, answers as they come back."""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from typing import Any


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def connect(port: int, timeout: float = 10.0, rcvbuf: int | None = None) -> socket.socket:
    """A connection to the gateway on 127.0.0.1 (with a small receive buffer when `rcvbuf` is given)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    return sock


def read_answer(sock: socket.socket) -> RawAnswer:
    """Read one response (any framing) from `sock`."""
    response = http.client.HTTPResponse(sock)
    response.begin()
    body = response.read()
    return RawAnswer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)


def exchange(port: int, data: bytes, timeout: float = 10.0) -> RawAnswer:
    """Send `data` on a new connection and read one response."""
    with connect(port, timeout) as sock:
        sock.sendall(data)
        return read_answer(sock)


def request_bytes(method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    """A request written by hand: `target` goes on the request line exactly as given."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the gateway sends until it closes the connection."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
