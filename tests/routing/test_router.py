"""The router, directly, over a real SQLite store: least-outstanding choice, suspension, readiness, aliases,
allow-lists and refresh on a store change (issue 13)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelport.errors import ModelNotFound
from modelport.records import ApiKey, DeploymentSpec, InstanceRecord, InstanceState, KeyScope
from modelport.routing.router import Router
from modelport.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


def deploy(store: Store, name: str, urls: int = 2, states: tuple[InstanceState, ...] = (), **spec: object) -> None:
    addresses = tuple(f"http://127.0.0.1:{9000 + n}/v1" for n in range(urls))
    store.add_deployment(DeploymentSpec(name=name, urls=addresses, **spec))  # type: ignore[arg-type]
    for ordinal, url in enumerate(addresses):
        state = states[ordinal] if ordinal < len(states) else InstanceState.READY
        store.set_instance(InstanceRecord(name, ordinal, url, state, "", datetime.now(UTC)))


def key(*models: str) -> ApiKey:
    return ApiKey("k", "k", "hash", KeyScope.INFERENCE, models or None, datetime.now(UTC))


async def test_the_least_busy_ready_instance_is_picked(store: Store) -> None:
    deploy(store, "chat", urls=3, states=(InstanceState.READY, InstanceState.UNHEALTHY, InstanceState.READY))
    router = Router(store)
    await router.refresh(force=True)
    route = router.resolve("chat", None)
    first, _unhealthy, third = route.instances
    assert route.pick() is first
    first.outstanding = 2
    assert route.pick() is third
    assert route.pick(exclude=[third]) is first
    assert route.pick(exclude=[first, third]) is None  # never the unhealthy one


async def test_a_suspended_instance_is_skipped_until_its_time_is_up(store: Store) -> None:
    deploy(store, "chat")
    router = Router(store)
    await router.refresh(force=True)
    route = router.resolve("chat", None)
    first, second = route.instances
    first.suspend(0.2)
    assert route.pick() is second and route.pick(exclude=[second]) is None
    time.sleep(0.25)
    assert route.pick(exclude=[second]) is first


async def test_aliases_route_to_the_deployment_and_allow_lists_hold(store: Store) -> None:
    deploy(store, "stt", aliases=("whisper-1",))
    deploy(store, "other")
    router = Router(store)
    await router.refresh(force=True)
    alias = router.resolve("whisper-1", None)
    assert alias.name == "stt" and alias.requested_name == "whisper-1"
    assert alias.instances == router.resolve("stt", None).instances  # shared, not copied
    assert router.resolve("whisper-1", key("whisper-1")).name == "stt"  # the alias alone may be allowed
    assert router.resolve("whisper-1", key("stt")).name == "stt"  # the deployment allows all its names
    with pytest.raises(ModelNotFound):
        router.resolve("stt", key("whisper-1"))
    with pytest.raises(ModelNotFound):  # not allowed reads as not there
        router.resolve("other", key("stt"))
    assert [r.requested_name for r in router.visible_routes(key("stt"))] == ["stt", "whisper-1"]


async def test_a_store_change_is_picked_up_and_load_survives_it(store: Store) -> None:
    deploy(store, "chat")
    router = Router(store)
    await router.refresh(force=True)
    kept = router.resolve("chat", None).instances[0]
    kept.outstanding = 3
    assert not await router.refresh()  # nothing changed: nothing rebuilt
    deploy(store, "embed")
    assert await router.refresh()
    assert router.resolve("embed", None).name == "embed"
    assert router.resolve("chat", None).instances[0] is kept and kept.outstanding == 3  # in-flight counts kept
    with pytest.raises(ModelNotFound):
        router.resolve("gone", None)


async def test_a_miss_re_reads_the_store_at_once(store: Store) -> None:
    router = Router(store)
    await router.refresh(force=True)
    await asyncio.to_thread(deploy, store, "late")
    await asyncio.sleep(0.11)  # past the floor between two miss-driven reads
    assert (await router.resolve_current("late", None)).name == "late"
