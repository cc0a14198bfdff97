"""The supervisor inside `modelport serve`: keeps each deployment's instances running (managed engines)
or watched (remote URLs), and records their states in the store, so every gateway and the CLI see them.

Where a managed instance runs is the placement's business; today that is a local process (`local.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiohttp

from modelport.instances.placement import ManagedInstance, Placement
from modelport.instances.remote import RemoteMonitor, normalise_base_url
from modelport.records import DeploymentSpec, InstanceRecord, InstanceState, runs_the_same

if TYPE_CHECKING:
    from modelport.routing.router import Router
    from modelport.store import Store

log = logging.getLogger(__name__)


@dataclass
class _Watched:
    spec: DeploymentSpec
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    managed: list[ManagedInstance] = field(default_factory=list)


class Supervisor:
    """Reconciles running instances with the deployments in the store."""

    def __init__(
        self, store: Store, router: Router, session: aiohttp.ClientSession, probe_seconds: float,
        placement: Placement,
    ) -> None:
        self._store = store
        self._router = router
        self._session = session
        self._probe_seconds = probe_seconds
        self._placement = placement
        self._watched: dict[str, _Watched] = {}
        self._revision = -1
        self._lock = asyncio.Lock()
        self.active = True  # False while another gateway supervises (the lease, `leader.py`)

    async def run(self, poll_seconds: float) -> None:
        while True:
            try:
                await self.reconcile()
            except Exception:
                log.exception("reconciling instances failed")
            await asyncio.sleep(poll_seconds)

    async def reconcile(self) -> None:
        if not self.active:
            return
        async with self._lock:
            revision = await asyncio.to_thread(self._store.routing_revision)
            if revision == self._revision:
                return
            self._revision = revision
            deployments = {d.name: d.spec for d in await asyncio.to_thread(self._store.list_deployments)}
            for name, watched in list(self._watched.items()):
                spec = deployments.get(name)
                if spec is not None and runs_the_same(watched.spec, spec):
                    watched.spec = spec
                else:
                    await self._stop(name)
            for name, spec in deployments.items():
                if name not in self._watched:
                    await self._start(spec)

    async def _start(self, spec: DeploymentSpec) -> None:
        count = len(spec.urls) if spec.is_remote else spec.replicas
        await asyncio.to_thread(self._store.remove_instances, spec.name, range(count))
        recorded = {r.ordinal: r for r in await asyncio.to_thread(self._store.list_instances, spec.name)}
        watched = _Watched(spec)
        sink = self._sink_for(spec.name)
        for ordinal in range(count):
            if spec.is_remote:
                known = recorded.get(ordinal)
                same = known is not None and known.url == normalise_base_url(spec.urls[ordinal])
                state = known.state if known is not None and same else None
                runner = RemoteMonitor(self._session, spec, ordinal, self._probe_seconds, sink, state).run()
            else:
                instance = self._placement.instance(spec, ordinal, sink, recorded.get(ordinal))
                watched.managed.append(instance)
                runner = instance.run()
            watched.tasks.append(asyncio.create_task(runner, name=f"instance {spec.name}#{ordinal}"))
        self._watched[spec.name] = watched

    async def _stop(self, name: str) -> None:
        watched = self._watched.pop(name)
        for task in watched.tasks:
            task.cancel()
        for task in watched.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _sink_for(self, deployment: str):  # type: ignore[no-untyped-def]
        async def record(ordinal: int, url: str, state: InstanceState, reason: str, pid: int | None = None, *,
                         node: str = "", gpus: tuple[str, ...] = ()) -> None:
            log.info("instance %s#%d: %s (%s)", deployment, ordinal, state.value, reason)
            entry = InstanceRecord(deployment, ordinal, url, state, reason, datetime.now(UTC), pid, node, gpus)
            await asyncio.to_thread(self._store.set_instance, entry)
            await self._router.refresh()

        return record

    async def detach(self) -> None:
        """Stop supervising but leave every managed engine running, for the supervisor elected next."""
        async with self._lock:
            self.active = False
            for watched in self._watched.values():
                for instance in watched.managed:
                    instance.detach()
            for name in list(self._watched):
                await self._stop(name)
            self._revision = -1

    async def stop(self) -> None:
        """Stop every instance this supervisor runs and record them as stopped."""
        for name, watched in list(self._watched.items()):
            managed = [(m.ordinal, m) for m in watched.managed]
            await self._stop(name)
            for ordinal, _ in managed:
                entry = InstanceRecord(name, ordinal, "", InstanceState.STOPPED, "gateway shut down",
                                       datetime.now(UTC), None)
                await asyncio.to_thread(self._store.set_instance, entry)
