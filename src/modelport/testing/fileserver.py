"""What the fake hubs share: content with its digests, served with Range requests, throttled and counted,
from an aiohttp server in a daemon thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

CHUNK = 64 * 1024


@dataclass
class Blob:
    """Content to serve: a file on disk or bytes, with its digests. `corrupt` flips one byte on the wire."""

    source: Path | bytes
    size: int
    sha256: str
    git_sha1: str
    corrupt: bool = False

    @classmethod
    def of(cls, source: Path | bytes) -> Blob:
        sha256, size = hashlib.sha256(), 0
        git = hashlib.sha1(usedforsecurity=False)
        size = source.stat().st_size if isinstance(source, Path) else len(source)
        git.update(b"blob %d\x00" % size)
        for chunk in _chunks(source, 0, size):
            sha256.update(chunk)
            git.update(chunk)
        return cls(source, size, sha256.hexdigest(), git.hexdigest())


def _chunks(source: Path | bytes, start: int, end: int) -> Iterator[bytes]:
    """The content from `start` to `end` (exclusive), in chunks."""
    if isinstance(source, bytes):
        for offset in range(start, end, CHUNK):
            yield source[offset:min(end, offset + CHUNK)]
        return
    with open(source, "rb") as handle:
        handle.seek(start)
        left = end - start
        while left > 0 and (chunk := handle.read(min(CHUNK * 16, left))):
            left -= len(chunk)
            yield chunk


@dataclass
class Traffic:
    """What a fake served: bytes per blob (by sha256), and each request line with its Range header."""

    sent: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    throttle: float = 0.0  # bytes per second for content; 0 means as fast as it goes
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, sha256: str, size: int) -> None:
        with self.lock:
            self.sent[sha256] = self.sent.get(sha256, 0) + size


async def send_blob(request: web.Request, blob: Blob, traffic: Traffic, headers: dict[str, str]) -> web.StreamResponse:
    """Answer with `blob`'s content (a 206 part for a Range request), throttled and counted."""
    start, end = 0, blob.size
    status = 200
    wanted = request.headers.get("Range", "")
    if wanted:
        parsed = _range(wanted, blob.size)
        if parsed is None:
            return web.Response(status=416, headers={**headers, "Content-Range": f"bytes */{blob.size}"})
        start, end = parsed
        status = 206
        headers = {**headers, "Content-Range": f"bytes {start}-{end - 1}/{blob.size}"}
    response = web.StreamResponse(status=status, headers={**headers, "Accept-Ranges": "bytes",
                                                          "Content-Type": "application/octet-stream"})
    response.content_length = end - start
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    offset = start
    for chunk in _chunks(blob.source, start, end):
        for piece in [chunk[i:i + CHUNK] for i in range(0, len(chunk), CHUNK)]:
            if blob.corrupt and offset <= blob.size // 2 < offset + len(piece):
                middle = blob.size // 2 - offset
                piece = piece[:middle] + bytes([piece[middle] ^ 0xFF]) + piece[middle + 1:]
            await response.write(piece)
            traffic.count(blob.sha256, len(piece))
            offset += len(piece)
            if traffic.throttle:
                await asyncio.sleep(len(piece) / traffic.throttle)
    await response.write_eof()
    return response


def _range(value: str, size: int) -> tuple[int, int] | None:
    """`bytes=START-[END]` as (start, end exclusive), or None when it cannot be served."""
    unit, _, spec = value.partition("=")
    first, _, last = spec.partition("-")
    if unit.strip() != "bytes" or not first.isdigit() or (last and not last.isdigit()):
        return None
    start, end = int(first), min(size, int(last) + 1) if last else size
    return (start, end) if start < size and start < end else None


class ThreadedServer:
    """An aiohttp application served on 127.0.0.1 from a daemon thread (`start()`/`stop()`, or `with`)."""

    def __init__(self) -> None:
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def build_app(self) -> web.Application:
        raise NotImplementedError

    async def more_sites(self, runner: web.AppRunner) -> None:
        """Listen on more addresses once the first is bound (none by default)."""

    def start(self) -> ThreadedServer:
        loop = asyncio.new_event_loop()
        started: concurrent.futures.Future[None] = concurrent.futures.Future()

        async def serve() -> None:
            runner = web.AppRunner(self.build_app(), access_log=None, handler_cancellation=True)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", self.port)
            await site.start()
            self._runner = runner
            self.port = int(runner.addresses[0][1])
            await self.more_sites(runner)

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(serve())
            except BaseException as exc:
                started.set_exception(exc)
                return
            started.set_result(None)
            loop.run_forever()

        self._loop, self._thread = loop, threading.Thread(target=run, name=type(self).__name__, daemon=True)
        self._thread.start()
        started.result(timeout=10)
        return self

    def stop(self) -> None:
        loop, thread, runner = self._loop, self._thread, self._runner
        if loop is None or thread is None or runner is None:
            return
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = self._runner = None

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
