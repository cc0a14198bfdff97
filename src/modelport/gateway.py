"""`Gateway`: what one gateway process holds while it runs (store, routes, relay, keys, supervisor, usage),
built by the ASGI app's lifespan and handed to every handler. It imports no handler: `api/` sits above it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

import aiohttp

from modelport.admin.api import create_admin_app
from modelport.admin.service import AdminService
from modelport.auth.instance_secrets import InstanceSecrets
from modelport.auth.origins import OriginPolicy
from modelport.auth.session import SessionKeeper
from modelport.auth.verifier import KeyVerifier
from modelport.config import Settings
from modelport.instances.leader import Leadership, instance_secrets, keep_policy
from modelport.instances.node import NodeAllocator, local_node
from modelport.instances.placement import LocalPlacement, Placement
from modelport.instances.ray_view import RayView
from modelport.instances.supervisor import Supervisor
from modelport.quota.counter import QuotaCounter
from modelport.quota.engine import counter_engine
from modelport.quota.limiter import Limiter
from modelport.relay.forward import Relay
from modelport.relay.upstream import create_pool
from modelport.routing.router import Router
from modelport.store import Store
from modelport.store.images import ImageStore
from modelport.usage.observer import observer_factory
from modelport.usage.tracker import build_tracker

log = logging.getLogger(__name__)


def local_supervisor(
    settings: Settings, store: Store, router: Router, session: aiohttp.ClientSession, secrets: InstanceSecrets
) -> Supervisor:
    """The supervisor of the managed instances: local processes, or Ray actors with `--placement ray`."""
    placement: Placement
    if settings.placement == "ray":
        from modelport.instances.ray_placement import RayPlacement  # the `ray` extra, imported only when asked

        placement = RayPlacement(settings.ray_address, session, settings.probe_seconds, secrets,
                                 settings.max_request_bytes)
        return Supervisor(store, router, session, settings.probe_seconds, placement)
    placement = LocalPlacement(
        settings.logs_dir, session, settings.probe_seconds, secrets, max_body_bytes=settings.max_request_bytes,
        allocator=NodeAllocator(local_node()) if settings.supervise else None,
        keep=keep_policy(store, settings.data_dir),
    )
    return Supervisor(store, router, session, settings.probe_seconds, placement)


class Gateway:
    """What one gateway process holds while it runs. Built by the lifespan, never at import."""

    def __init__(self, settings: Settings, store: Store, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.store = store
        self.session = session  # health probes
        self.pool = create_pool()  # the relay's upstream connections
        self.router = Router(store, retry_after=settings.retry_after_seconds)
        self.verifier = KeyVerifier(store, ttl=settings.key_cache_seconds)
        self.sessions = SessionKeeper.in_data_dir(settings.data_dir, store, settings.key_cache_seconds)  # /ui
        self.relay = Relay(self.pool, self.router)
        secrets = instance_secrets(store, settings.instance_key_file)
        self.router.instance_auth = lambda record, spec: None if spec.is_remote else secrets.header_for(record)
        self.supervisor = local_supervisor(settings, store, self.router, session, secrets)
        # On PostgreSQL one gateway among those sharing the store supervises: the holder of the lease.
        self.leadership = Leadership(store, self.supervisor) if store.shared and settings.supervise else None
        ray = RayView(settings.ray_address) if settings.placement == "ray" else None  # logs, nodes from Ray
        self.admin_app = create_admin_app(AdminService(store, settings.logs_dir, ray), on_change=self.routing_changed)
        self.images = ImageStore(settings.data_dir / "images", settings.image_url_seconds)
        self.origins = OriginPolicy(settings.allowed_hosts, settings.cors_origins)
        self.usage = build_tracker(settings, store)  # usage records, metrics, access log (modelport.usage)
        self.relay.observe = observer_factory()
        self.limiter = Limiter(QuotaCounter(counter_engine(store.url)), store.limit_defaults,
                               settings.key_cache_seconds)  # keys' limits, counted in the store (quota/)
        self.draining = False
        self.loop: asyncio.AbstractEventLoop | None = None  # set by start()
        self._tasks: list[asyncio.Task[None]] = []
        self._ledger: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        await self.router.refresh(force=True)
        await self.limiter.refresh_defaults()
        self._tasks = [asyncio.create_task(self.router.follow(self.settings.reload_seconds), name="routes"),
                       asyncio.create_task(self.usage.follow_outstanding(self.router), name="outstanding"),
                       asyncio.create_task(self.limiter.follow_leases(), name="leases"),
                       asyncio.create_task(self.limiter.follow_defaults(), name="limit-defaults")]
        self._ledger = asyncio.create_task(self.usage.ledger.run(), name="usage")
        if self.leadership is not None:
            self._tasks.append(asyncio.create_task(self.leadership.run(self.settings.reload_seconds)))
        elif self.settings.supervise:
            self._tasks.append(asyncio.create_task(self.supervisor.run(self.settings.reload_seconds)))
        if self.settings.parent_pid is not None:
            self._tasks.append(asyncio.create_task(_exit_with_parent(self.settings.parent_pid)))

    def begin_drain(self) -> None:
        """SIGTERM: /readyz turns 503, and relayed streams still open just before the drain ends get an error
        event then instead of being cut mid-event. Call on the event loop's thread."""
        self.draining = True
        margin = min(1.0, self.settings.drain_seconds / 10)
        self.relay.cutoff.begin(asyncio.get_running_loop().time() + self.settings.drain_seconds - margin)

    async def routing_changed(self) -> None:
        """Deployments changed through this process: start their instances and route to them now."""
        if self.settings.supervise:
            await self.supervisor.reconcile()
        await self.router.refresh()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.leadership is not None:
            await self.leadership.hand_over()  # the engines run on for the gateway elected next
        else:
            await self.supervisor.stop()
        await self.pool.close()
        await self.session.close()
        await self.usage.close(self._ledger)  # after the drain: every finished request is written, spans sent
        await asyncio.to_thread(self.limiter.close)
        await asyncio.to_thread(self.store.close)


async def _exit_with_parent(parent_pid: int) -> None:
    """A `--workers` child drains and exits once its primary is gone (even if it was SIGKILLed)."""
    while os.getppid() == parent_pid:
        await asyncio.sleep(1.0)
    log.warning("the primary process is gone; shutting down")
    os.kill(os.getpid(), signal.SIGTERM)
