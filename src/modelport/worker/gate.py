"""`concurrency` inferences at a time, a bounded line of waiters, and streaming from the engine threads.

Engines are blocking, so every call runs on the gate's engine threads: one for an engine that is not
re-entrant, `concurrency` for one that decodes several sequences together (llama.cpp with `parallel`
slots: each thread then only waits for its own sequence's tokens). Requests past
`max_queue` waiters are refused at once (`QueueFull`: 503 with Retry-After and `x-modelport-refused:
queue_full`, so the gateway can tell "full, try another replica" from "broken"), never left hanging.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from modelport.errors import NoReadyInstance

T = TypeVar("T")

_END = object()

#: The response header that marks a refusal before any work began (the instance is healthy, only full).
REFUSED_HEADER = "x-modelport-refused"


class QueueFull(NoReadyInstance):
    """503 + Retry-After + `x-modelport-refused: queue_full`: too many requests already wait here."""

    code = "queue_full"

    def __init__(self, waiting: int) -> None:
        super().__init__(
            f"this instance is busy ({waiting} requests already waiting); retry shortly", retry_after=1
        )

    def headers(self) -> list[tuple[bytes, bytes]]:
        """Retry-After, and the header that says nothing was started."""
        return [*super().headers(), (REFUSED_HEADER.encode(), b"queue_full")]


class StillLoading(NoReadyInstance):
    """503 + Retry-After + `x-modelport-refused: loading`: the model is not loaded yet (try a replica)."""

    code = "loading"

    def __init__(self) -> None:
        super().__init__("the model is still loading; retry shortly", retry_after=1)

    def headers(self) -> list[tuple[bytes, bytes]]:
        """Retry-After, and the header that says nothing was started."""
        return [*super().headers(), (REFUSED_HEADER.encode(), b"loading")]


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class InferenceGate:
    """Admission control plus the engine threads."""

    def __init__(self, max_queue: int = 32, concurrency: int = 1) -> None:
        self.max_queue = max_queue
        self.concurrency = concurrency
        self._admitted = 0
        self._turn = asyncio.Semaphore(concurrency)
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="engine")

    def set_concurrency(self, concurrency: int) -> None:
        """Allow `concurrency` requests on the engine at once (set after loading, before serving)."""
        if concurrency == self.concurrency:
            return
        old = self._executor
        self.concurrency = concurrency
        self._turn = asyncio.Semaphore(concurrency)
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="engine")
        old.shutdown(wait=False)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the engine's turns for a request; refuse immediately when the line is full."""
        if self._admitted >= self.concurrency + self.max_queue:
            raise QueueFull(self.max_queue)
        self._admitted += 1
        try:
            async with self._turn:
                yield
        finally:
            self._admitted -= 1

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold the engine without joining the line (a batcher admits its own requests)."""
        async with self._turn:
            yield

    async def call(self, fn: Callable[..., T], *args: Any, cancel: threading.Event | None = None) -> T:
        """Run `fn(*args)` on the engine thread; if this task is cancelled, set `cancel` and wait it out."""
        future = asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if cancel is not None:
                cancel.set()
            await asyncio.wait([future])
            raise

    async def stream(
        self, make: Callable[[], Iterator[T]], cancel: threading.Event
    ) -> AsyncGenerator[T, None]:
        """Items of `make()` as the engine thread produces them; leaving early sets `cancel`.

        The generator waits for the engine thread to finish before it returns, so the slot is only
        released when the engine is really free.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is gone: nobody is listening any more
                cancel.set()

        def pump() -> None:
            try:
                for item in make():
                    put(item)
                    if cancel.is_set():
                        break
            except BaseException as exc:
                put(_Failure(exc))
            finally:
                put(_END)

        future = loop.run_in_executor(self._executor, pump)
        try:
            while (item := await queue.get()) is not _END:
                if isinstance(item, _Failure):
                    raise item.exc
                yield item
        finally:
            if not future.done():
                cancel.set()
                await asyncio.wait([future])

    def close(self) -> None:
        """Stop the engine thread (after the current call)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
