"""The exchange, directly: a real Router over a real SQLite store, the relay's pool, the fake upstream (and a
scripted one for closing unanswered). Every way an exchange ends releases its instance exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from modelport.errors import NoReadyInstance, UpstreamTimeout, UpstreamUnreachable
from modelport.records import DeploymentSpec, InstanceRecord, InstanceState, Timeouts
from modelport.relay.exchange import Exchange, Outcome, UpstreamRequest
from modelport.relay.forward import Relay
from modelport.relay.http1 import Pool
from modelport.routing.router import Route, Router
from modelport.store import Store
from modelport.testing import FakeUpstream
from tests.scripted import ScriptedUpstream, json_answer


@dataclass
class Seen:
    """An observer that writes down what it is shown."""

    heads: list[int] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    ends: list[Outcome] = field(default_factory=list)

    def on_response(self, exchange: Exchange) -> None:
        self.heads.append(exchange.status)

    def on_chunk(self, chunk: bytes) -> None:
        self.chunks.append(chunk)

    def on_end(self, exchange: Exchange | None, outcome: Outcome, error: BaseException | None) -> None:
        self.ends.append(outcome)


@dataclass
class Rig:
    relay: Relay
    router: Router
    store: Store
    seen: Seen

    async def route(self, name: str, urls: list[str], **timeouts: float) -> Route:
        spec = DeploymentSpec(name=name, urls=tuple(urls), upstream_model="fake-model",
                              timeouts=Timeouts(**timeouts))
        await asyncio.to_thread(self.store.add_deployment, spec)
        for ordinal, url in enumerate(urls):
            record = InstanceRecord(name, ordinal, url, InstanceState.READY, "", datetime.now(UTC))
            await asyncio.to_thread(self.store.set_instance, record)
        await self.router.refresh(force=True)
        return self.router.routes[name]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    router = Router(store)
    pool = Pool()
    relay = Relay(pool, router)
    seen = Seen()
    relay.observe = lambda route, request: seen
    yield Rig(relay, router, store, seen)
    await pool.close()
    store.close()


def chat(stream: bool = False, **headers: str) -> UpstreamRequest:
    body = orjson.dumps({"model": "fake-model", "stream": stream, "messages": [{"role": "user", "content": "a b c"}]})
    return UpstreamRequest(method="POST", path="/chat/completions", query="", body=body, content_length=len(body),
                           client_headers=[(name.encode(), value.encode()) for name, value in headers.items()] +
                           [(b"content-type", b"application/json")])


def outstanding(route: Route) -> list[int]:
    return [instance.outstanding for instance in route.instances]


async def test_a_whole_answer_is_read_and_the_instance_released(rig: Rig, fake: FakeUpstream) -> None:
    route = await rig.route("a", [fake.url])
    async with rig.relay.exchange(route, chat()) as exchange:
        assert outstanding(route) == [1]
        data = orjson.loads(await exchange.read())
    assert data["object"] == "chat.completion"
    assert outstanding(route) == [0]
    assert rig.seen.heads == [200] and rig.seen.ends == [Outcome.COMPLETED]
    assert b"".join(rig.seen.chunks) and exchange.received == sum(map(len, rig.seen.chunks))


async def test_leaving_early_or_raising_inside_releases_it_too(rig: Rig, fake: FakeUpstream) -> None:
    route = await rig.route("a", [fake.url])
    async with rig.relay.exchange(route, chat(stream=True, **{"x-fake-chunks": "20",
                                                              "x-fake-chunk-delay-ms": "50"})) as exchange:
        assert await exchange.next_chunk()
    with pytest.raises(RuntimeError):
        async with rig.relay.exchange(route, chat()):
            raise RuntimeError("the caller failed")
    assert outstanding(route) == [0]
    assert rig.seen.ends == [Outcome.ABANDONED, Outcome.FAILED]


async def test_pump_delivers_every_piece_of_a_stream(rig: Rig, fake: FakeUpstream) -> None:
    route = await rig.route("a", [fake.url])
    pieces: list[bytes] = []

    async def deliver(chunk: bytes) -> None:
        pieces.append(chunk)

    async with rig.relay.exchange(route, chat(stream=True)) as exchange:
        await exchange.pump(deliver)
    assert b"".join(pieces).endswith(b"data: [DONE]\n\n")
    assert rig.seen.ends == [Outcome.COMPLETED]


@pytest.mark.parametrize("timeouts,headers,message", [
    ({"idle": 0.3}, {"x-fake-chunk-delay-ms": "2000", "x-fake-chunks": "3"}, "went silent"),
    ({"total": 0.5}, {"x-fake-chunk-delay-ms": "200", "x-fake-chunks": "20"}, "total timeout"),
    ({"total": 0.5, "first_byte": 30}, {"x-fake-delay-ms": "3000"}, "total timeout"),
], ids=["idle", "total-while-streaming", "total-before-the-head"])
async def test_each_timeout_is_a_504_and_releases(rig: Rig, fake: FakeUpstream, timeouts: dict[str, float],
                                                  headers: dict[str, str], message: str) -> None:
    route = await rig.route("a", [fake.url], **timeouts)
    with pytest.raises(UpstreamTimeout, match=message):
        async with rig.relay.exchange(route, chat(stream=True, **headers)) as exchange:
            await exchange.read()
    assert outstanding(route) == [0]
    assert rig.seen.ends[-1] is Outcome.UPSTREAM_TIMEOUT


async def test_a_drain_cutoff_ends_a_read_waiting_on_the_instance(rig: Rig, fake: FakeUpstream) -> None:
    route = await rig.route("a", [fake.url])
    loop = asyncio.get_running_loop()
    with pytest.raises(NoReadyInstance, match="shutting down"):
        async with rig.relay.exchange(route, chat(stream=True, **{"x-fake-chunk-delay-ms": "500",
                                                                  "x-fake-chunks": "20"})) as exchange:
            loop.call_later(0.3, rig.relay.cutoff.begin, loop.time() + 0.3)
            await exchange.read()
    assert outstanding(route) == [0]


async def test_next_chunk_returns_none_when_the_wait_ends_first(rig: Rig, fake: FakeUpstream) -> None:
    route = await rig.route("a", [fake.url], idle=5)
    async with rig.relay.exchange(route, chat(stream=True, **{"x-fake-delay-ms": "0", "x-fake-chunk-delay-ms": "600",
                                                              "x-fake-chunks": "2"})) as exchange:
        assert await exchange.next_chunk()  # the first event comes at once
        assert await exchange.next_chunk(wait=0.05) is None  # the next one takes 600 ms
        assert await exchange.next_chunk()


async def test_only_what_carried_nothing_is_sent_elsewhere(rig: Rig, fake: FakeUpstream) -> None:
    def close_unanswered(head: bytes) -> bytes | None:
        return None

    with ScriptedUpstream(close_unanswered) as closing:
        route = await rig.route("a", [closing.url, fake.url])
        for _ in range(4):  # whichever is picked first, the answer comes from the fake
            async with rig.relay.exchange(route, chat()) as exchange:
                assert orjson.loads(await exchange.read())["object"] == "chat.completion"
        assert outstanding(route) == [0, 0]
        assert all(instance.suspended_until == 0 for instance in route.instances)


async def test_an_instance_that_never_answers_anyone_is_a_502(rig: Rig) -> None:
    with ScriptedUpstream(lambda head: None) as closing:
        route = await rig.route("a", [closing.url])
        with pytest.raises(UpstreamUnreachable):
            async with rig.relay.exchange(route, chat()):
                pass
        assert outstanding(route) == [0]
        assert rig.seen.ends == [Outcome.UPSTREAM_ERROR]


async def test_an_error_answer_is_the_callers_to_read(rig: Rig) -> None:
    body = b'{"error": {"message": "bad model", "type": "invalid_request_error"}}'
    with ScriptedUpstream(lambda head: json_answer(body, "400 Bad Request")) as refusing:
        route = await rig.route("a", [refusing.url])
        async with rig.relay.exchange(route, chat()) as exchange:
            assert exchange.status == 400 and await exchange.read() == body
        assert rig.seen.ends == [Outcome.COMPLETED]


async def test_an_answer_that_began_is_never_sent_elsewhere(rig: Rig, fake: FakeUpstream) -> None:
    cut = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"partial"

    def begin_then_close(head: bytes) -> bytes | None:
        return cut if head.startswith(b"POST ") else json_answer(b"{}")

    with ScriptedUpstream(begin_then_close, close_after_answer=True) as cutting:
        route = await rig.route("a", [cutting.url, fake.url])  # equal load: the first is picked first
        before = sum(r.path == "/v1/chat/completions" for r in fake.requests)
        with pytest.raises(UpstreamUnreachable, match="broke off"):
            async with rig.relay.exchange(route, chat()) as exchange:
                await exchange.read()
        assert sum(r.path == "/v1/chat/completions" for r in fake.requests) == before
        assert outstanding(route) == [0, 0]
