"""The pool: keep-alive connections per origin (scheme, host, port), reused last-in first-out."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterable, Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

from modelport.relay.http1.errors import ConnectFailed, ConnectTimeout, NotDelivered, UnsafeRequest
from modelport.relay.http1.protocol import Connection
from modelport.relay.http1.response import Response

Body = bytes | AsyncIterable[bytes] | None
BodySource = Body | Callable[[], Body]  # a factory gives a fresh body per attempt (streams can't be re-read)
_REQUEST_TARGET = re.compile(r"/[\x21-\x7e]*")  # origin-form: visible ASCII only, so never a CR, LF or space


class Origin:
    """Where requests go: one scheme, host and port, and its connections."""

    def __init__(self, pool: Pool, tls: bool, host: str, port: int) -> None:
        self.pool = pool
        self.tls = tls
        self.host = host
        self.port = port
        default_port = self.port == (443 if self.tls else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.host_line = b"host: " + (host if default_port else f"{host}:{self.port}").encode("idna") + b"\r\n"
        self.idle: list[Connection] = []
        self.open: set[Connection] = set()
        self._waiters: list[asyncio.Future[None]] = []

    def take_idle(self, now: float) -> Connection | None:
        idle = self.idle
        while idle:
            conn = idle.pop()
            if conn.usable() and now - conn.idle_since < self.pool.idle_seconds:
                return conn
            conn.drop()
        return None

    async def connect(self, timeout: float | None) -> Connection:
        while len(self.open) >= self.pool.per_host:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter
        loop = asyncio.get_running_loop()
        conn = Connection(loop, self.released)
        self.open.add(conn)
        try:
            async with asyncio.timeout(timeout):
                await loop.create_connection(lambda: conn, self.host, self.port, ssl=self.pool.tls_context()
                                             if self.tls else None, server_hostname=self.host if self.tls else None)
        except TimeoutError:
            self._forget(conn)
            raise ConnectTimeout(f"No connection to {self.host}:{self.port} within {timeout:g} s.") from None
        except (OSError, ssl.SSLError) as exc:
            self._forget(conn)
            raise ConnectFailed(f"Cannot connect to {self.host}:{self.port}: {exc}") from None
        except BaseException:
            self._forget(conn)
            conn.drop()
            raise
        return conn

    def released(self, conn: Connection, reusable: bool) -> None:
        """A connection finished a response (`reusable`: keep-alive, back to the idle list) or closed."""
        if reusable and not conn.closed:
            conn.idle_since = conn.loop.time()
            self.idle.append(conn)
            self.pool.schedule_sweep()
        else:
            if conn in self.idle:
                self.idle.remove(conn)
            self._forget(conn)

    def _forget(self, conn: Connection) -> None:
        if conn in self.open:
            self.open.discard(conn)
            while self._waiters:
                waiter = self._waiters.pop(0)
                if not waiter.done():
                    waiter.set_result(None)
                    break

    def sweep(self, now: float) -> None:
        """Close connections idle for longer than the pool's limit (the oldest sit at the front)."""
        idle = self.idle
        expired = 0
        while expired < len(idle) and now - idle[expired].idle_since >= self.pool.idle_seconds:
            expired += 1
        for conn in idle[:expired]:
            conn.drop()
        del idle[:expired]

    def close(self) -> None:
        for conn in list(self.open):
            conn.drop()
        self.idle.clear()


class Pool:
    """Pooled HTTP/1.1 client for the relay. It enforces the connect timeout and the deadline for a
    response head (one timer handle a request); the caller enforces the body's. Not thread-safe; one per
    event loop."""

    def __init__(self, *, idle_seconds: float = 60.0, per_host: int = 4096) -> None:
        self.idle_seconds = idle_seconds
        self.per_host = per_host
        self._origins: dict[tuple[bool, str, int], Origin] = {}
        self._urls: dict[str, tuple[Origin, str]] = {}
        self._tls: ssl.SSLContext | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop this pool serves: the running one at its first use (asking asyncio for the running
        loop is a `getpid()` system call each time)."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        return loop

    def resolve(self, url: str) -> tuple[Origin, str]:
        """The origin of a base URL such as `http://host:port/v1`, and its path (`/v1`), cached."""
        found = self._urls.get(url)
        if found is None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"Not an http(s) URL: {url!r}")
            tls = parts.scheme == "https"
            key = (tls, parts.hostname, parts.port or (443 if tls else 80))
            origin = self._origins.get(key)
            if origin is None:
                origin = self._origins[key] = Origin(self, *key)
            found = self._urls[url] = (origin, parts.path.rstrip("/"))
        return found

    def tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    async def request(self, origin: Origin, method: str, target: str, headers: bytes, body: BodySource = None,
                      content_length: int | None = None, *, connect_timeout: float | None = None,
                      deadline: float | None = None) -> Response:
        """Send `method target` with `headers` (a block of `name: value\\r\\n` lines, without host and
        framing) and return the response once its head is in, by `deadline` (loop time; a `TimeoutError`
        after it, connecting included). A reused connection found dead before any answer byte is retried
        once on a fresh one; `NotDelivered` means the instance never answered. `UnsafeRequest` for a target
        that isn't visible ASCII (the caller must encode it)."""
        if not _REQUEST_TARGET.fullmatch(target):
            raise UnsafeRequest(f"Refusing to send request target {target!r}: only visible ASCII may go there.")
        now = self.loop.time()
        conn = origin.take_idle(now)
        if conn is not None:
            try:
                return await _exchange(conn, origin, method, target, headers, body, content_length, deadline)
            except NotDelivered:
                pass  # the instance had closed it: try once on a new connection
        if deadline is not None:  # what is left of it after a reused connection failed, if one did
            left = max(deadline - self.loop.time(), 0.0)
            connect_timeout = left if connect_timeout is None else min(connect_timeout, left)
        conn = await origin.connect(connect_timeout)
        return await _exchange(conn, origin, method, target, headers, body, content_length, deadline)

    def schedule_sweep(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(self.idle_seconds, self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        now = asyncio.get_running_loop().time()
        for origin in self._origins.values():
            origin.sweep(now)
        if any(origin.idle for origin in self._origins.values()):
            self.schedule_sweep()

    async def close(self) -> None:
        """Close every connection."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for origin in self._origins.values():
            origin.close()


def _exchange(conn: Connection, origin: Origin, method: str, target: str, headers: bytes, source: BodySource,
              content_length: int | None, deadline: float | None) -> Coroutine[Any, Any, Response]:
    """The connection's exchange of this request, to await (a plain function: one coroutine frame fewer
    on every wake-up of the request's task)."""
    body = source() if callable(source) else source
    chunked = False
    if isinstance(body, bytes):
        framing = b"content-length: %d\r\n" % len(body)
    elif body is None:
        framing = b"content-length: 0\r\n" if method in ("POST", "PUT", "PATCH") else b""
    elif content_length is not None:
        framing = b"content-length: %d\r\n" % content_length
    else:
        framing, chunked = b"transfer-encoding: chunked\r\n", True
    head = b"%s %s HTTP/1.1\r\n%b%b%b\r\n" % (method.encode("ascii"), target.encode("latin-1"), origin.host_line,
                                            headers, framing)
    return conn.exchange(head, body, chunked, method == "HEAD", deadline)
