"""The fake upstream server: its route table and the :class:`FakeUpstream` handle that runs it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Self

from aiohttp import web

from modelport.testing import anthropic, audio, chat, completions, embeddings, images, misc
from modelport.testing.state import STATE, FakeState, RecordedRequest
from modelport.testing.wire import guarded

MAX_BODY = 64 * 1024 * 1024
_ANY = ("GET", "POST", "PUT", "PATCH", "DELETE")


def build_app(state: FakeState) -> web.Application:
    """The aiohttp application of a fake upstream: every route, all in this one table."""
    app = web.Application(client_max_size=MAX_BODY)
    app[STATE] = state
    r = app.router
    r.add_get("/v1/models", guarded(misc.list_models))
    r.add_get("/v1/models/{model}", guarded(misc.get_model))
    r.add_post("/v1/chat/completions", guarded(chat.chat_completions))
    r.add_post("/v1/completions", guarded(completions.completions))
    r.add_post("/v1/embeddings", guarded(embeddings.embeddings))
    r.add_post("/v1/rerank", guarded(embeddings.rerank))
    r.add_post("/v1/images/generations", guarded(images.generations))
    r.add_post("/v1/images/edits", guarded(images.edits))
    r.add_post("/v1/audio/speech", guarded(audio.speech))
    r.add_post("/v1/audio/transcriptions", guarded(audio.transcriptions))
    r.add_post("/v1/audio/translations", guarded(audio.translations))
    r.add_post("/v1/messages", guarded(anthropic.messages, flavor="anthropic"))
    for method in _ANY:
        r.add_route(method, "/v1/echo/{tail:.*}", guarded(misc.echo))
        r.add_route(method, "/echo/{tail:.*}", guarded(misc.echo, auth=False))
    r.add_get("/files/{name}.png", misc.served_file)
    r.add_get("/health", misc.health)
    r.add_get("/_fake/requests", misc.fake_requests)
    r.add_delete("/_fake/requests", misc.fake_requests)
    r.add_post("/_fake/health", misc.fake_health)
    r.add_get("/_fake/stats", misc.fake_stats)
    return app


class FakeUpstream:
    """A real HTTP server that speaks the OpenAI (and Anthropic, Jina) APIs with deterministic answers.

    Use it as ``async with FakeUpstream() as fake:`` in async tests, or ``start_in_thread()`` /
    ``stop_thread()`` from synchronous code. ``url`` is the base URL to give an OpenAI client.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None,
                 models: Sequence[str] = ("fake-model",), record: bool = True) -> None:
        self.host = host
        self.port = port
        self.state = FakeState.create(api_key=api_key, models=models, record=record)
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def root_url(self) -> str:
        """``http://HOST:PORT`` (valid after start)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The OpenAI base URL, ``http://HOST:PORT/v1`` (valid after start)."""
        return f"{self.root_url}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received so far, in order (empty when ``record=False``)."""
        return self.state.requests

    @property
    def healthy(self) -> bool:
        """When False, GET /v1/models answers 503."""
        return self.state.healthy

    @healthy.setter
    def healthy(self, value: bool) -> None:
        self.state.healthy = value

    @property
    def cancelled(self) -> int:
        """How many requests lost their client before the answer was complete."""
        return self.state.cancelled

    @property
    def received(self) -> int:
        """How many requests reached a fake endpoint (recorded or not)."""
        return self.state.received

    async def start(self) -> None:
        """Bind and start serving; ``port=0`` picks a free port, readable afterwards."""
        runner = web.AppRunner(build_app(self.state), handler_cancellation=True, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, backlog=1024)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        if self.host not in ("0.0.0.0", "::", ""):  # a wildcard bind: links follow the Host header
            self.state.root_url = self.root_url

    async def stop(self) -> None:
        """Stop serving and close open connections."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    def start_in_thread(self) -> None:
        """Serve from a daemon thread with its own event loop; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("the fake upstream already runs in a thread")
        loop = asyncio.new_event_loop()
        started: concurrent.futures.Future[None] = concurrent.futures.Future()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                started.set_exception(exc)
                return
            started.set_result(None)
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name="fake-upstream", daemon=True)
        self._thread.start()
        try:
            started.result(timeout=10)
        except BaseException:
            self._thread.join(timeout=1)
            loop.close()
            self._loop = self._thread = None
            raise

    def stop_thread(self) -> None:
        """Stop a server started with :meth:`start_in_thread` and join its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = None
