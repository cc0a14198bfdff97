"""The supervisor inside `modelport serve`: keeps each deployment's instances running (or watched) and
records their states in the store, so every gateway and the CLI see them."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiohttp

from modelport.instances.remote import RemoteMonitor
from modelport.records import DeploymentSpec, InstanceRecord, InstanceState

if TYPE_CHECKING:
    from modelport.routing.router import Router
    from modelport.store import Store

log = logging.getLogger(__name__)


@dataclass
class _Watched:
    spec: DeploymentSpec
    tasks: list[asyncio.Task[None]]


class Supervisor:
    """Reconciles running monitors with the deployments in the store."""

    def __init__(self, store: Store, router: Router, session: aiohttp.ClientSession, probe_seconds: float) -> None:
        self._store = store
        self._router = router
        self._session = session
        self._probe_seconds = probe_seconds
        self._watched: dict[str, _Watched] = {}
        self._revision = -1

    async def run(self, poll_seconds: float) -> None:
        while True:
            try:
                await self.reconcile()
            except Exception:
                log.exception("reconciling instances failed")
            await asyncio.sleep(poll_seconds)

    async def reconcile(self) -> None:
        revision = await asyncio.to_thread(self._store.routing_revision)
        if revision == self._revision:
            return
        self._revision = revision
        deployments = {d.name: d.spec for d in await asyncio.to_thread(self._store.list_deployments)}
        for name in list(self._watched):
            if deployments.get(name) != self._watched[name].spec:
                self._stop(name)
        for name, spec in deployments.items():
            if name not in self._watched:
                await self._start(spec)

    async def _start(self, spec: DeploymentSpec) -> None:
        tasks = []
        count = len(spec.urls) if spec.is_remote else spec.replicas
        await asyncio.to_thread(self._store.remove_instances, spec.name, range(count))
        if spec.is_remote:
            for ordinal in range(len(spec.urls)):
                monitor = RemoteMonitor(self._session, spec, ordinal, self._probe_seconds, self._sink_for(spec.name))
                tasks.append(asyncio.create_task(monitor.run(), name=f"probe {spec.name}#{ordinal}"))
        self._watched[spec.name] = _Watched(spec, tasks)

    def _stop(self, name: str) -> None:
        for task in self._watched.pop(name).tasks:
            task.cancel()

    def _sink_for(self, deployment: str):  # type: ignore[no-untyped-def]
        async def record(ordinal: int, url: str, state: InstanceState, reason: str) -> None:
            log.info("instance %s#%d: %s (%s)", deployment, ordinal, state.value, reason)
            entry = InstanceRecord(deployment, ordinal, url, state, reason, datetime.now(UTC))
            await asyncio.to_thread(self._store.set_instance, entry)
            await self._router.refresh()

        return record

    async def stop(self) -> None:
        for name in list(self._watched):
            self._stop(name)
