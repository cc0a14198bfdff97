"""A scripted HTTP/1.1 upstream for black-box tests of how the gateway treats an instance that misbehaves in
ways the fake upstream (`modelport.testing`) has no control for: closing without an answer, refusing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

Script = Callable[[bytes], bytes | None]  # a request head -> the raw response, or None to close unanswered


def json_answer(body: bytes, status: str = "200 OK", extra: bytes = b"") -> bytes:
    """A complete keep-alive response with a JSON body (`extra`: more header lines, each ending in CRLF)."""
    return (b"HTTP/1.1 %b\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%b\r\n%b"
            % (status.encode(), len(body), extra, body))


class ScriptedUpstream:
    """Serves on 127.0.0.1 from a thread of its own; `script` answers each request; `heads` records them."""

    def __init__(self, script: Script, *, close_after_answer: bool = False) -> None:
        self.script = script
        self.close_after_answer = close_after_answer  # hang up after each answer (e.g. one cut short)
        self.port = 0
        self.heads: list[bytes] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> ScriptedUpstream:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def shut() -> None:
            tasks = asyncio.all_tasks() - {asyncio.current_task()}
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(shut(), self._loop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                for line in head.lower().split(b"\r\n"):
                    if line.startswith(b"content-length:"):
                        await reader.readexactly(int(line.split(b":")[1]))
                self.heads.append(head)
                answer = self.script(head)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if self.close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()
