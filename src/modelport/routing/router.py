"""The routing table: deployment name → its instances, rebuilt from the store whenever its revision moves."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from modelport.errors import ModelNotFound, NoReadyInstance
from modelport.records import ApiKey, Deployment, DeploymentSpec, InstanceRecord, InstanceState
from modelport.routing.capabilities import Capabilities

if TYPE_CHECKING:
    from modelport.store import Store

log = logging.getLogger(__name__)

InstanceId = tuple[str, int]  # (deployment name, ordinal)


@dataclass(eq=False)
class Instance:
    """One upstream endpoint. `outstanding` counts requests in flight through this gateway process."""

    id: InstanceId
    base_url: str  # OpenAI-style base, e.g. http://127.0.0.1:8000/v1
    ready: bool
    auth_header: bytes | None = None  # the value of `Authorization` sent upstream
    outstanding: int = 0
    suspended_until: float = 0.0  # monotonic time; set when a connection to it failed

    def suspend(self, seconds: float) -> None:
        """Skip this instance for a moment: a connection to it just failed (it may be restarting)."""
        self.suspended_until = time.monotonic() + seconds


@dataclass(frozen=True)
class Route:
    """A deployment as the relay sees it."""

    spec: DeploymentSpec
    instances: tuple[Instance, ...]
    created: int = 0  # unix seconds, for /v1/models
    alias: str | None = None  # the alias the client named, when it used one (instances are shared)
    capabilities: Capabilities = field(init=False, compare=False)  # what its backend speaks, from `spec`

    def __post_init__(self) -> None:
        object.__setattr__(self, "capabilities", Capabilities.of(self.spec))

    @property
    def name(self) -> str:
        """The deployment's own name: answers carry it, whichever alias was asked for (as OpenAI's do)."""
        return self.spec.name

    @property
    def requested_name(self) -> str:
        """What the client put in `model`: an alias or the name."""
        return self.alias or self.spec.name

    @property
    def upstream_model(self) -> str:
        return self.spec.upstream_model or self.spec.name

    @property
    def renames_model(self) -> bool:
        """Whether `model` in request bodies must be rewritten for the upstream."""
        return self.upstream_model != self.requested_name

    def usable_by(self, key: ApiKey | None) -> bool:
        """Whether `key` may use this route: its allow-list names the deployment or the alias asked for."""
        return key is None or key.may_use(self.spec.name) or key.may_use(self.requested_name)

    @property
    def is_ready(self) -> bool:
        return any(instance.ready for instance in self.instances)

    def pick(self, exclude: Iterable[Instance] = ()) -> Instance | None:
        """The ready instance with the fewest requests in flight, skipping `exclude`."""
        best: Instance | None = None
        now = 0.0
        for instance in self.instances:
            if not instance.ready or instance in exclude:
                continue
            if instance.suspended_until:
                now = now or time.monotonic()
                if instance.suspended_until > now:
                    continue
                instance.suspended_until = 0.0
            if best is None or instance.outstanding < best.outstanding:
                best = instance
        return best


@dataclass
class Router:
    """Holds the current routes. Reads the store only in `refresh()`; `resolve()` is a dict lookup."""

    store: Store
    retry_after: int = 2
    instance_auth: Callable[[InstanceRecord, DeploymentSpec], bytes | None] | None = None
    routes: dict[str, Route] = field(default_factory=dict)
    revision: int = -1
    loaded: bool = False
    _instances: dict[tuple[str, int, str], Instance] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _refreshed_at: float = 0.0

    def resolve(self, model: str, key: ApiKey | None) -> Route:
        """The route for `model`. A model outside the key's allow-list is answered like an unknown one."""
        route = self.routes.get(model)
        if route is None or not route.usable_by(key):
            raise ModelNotFound(f"The model `{model}` does not exist or you do not have access to it.", param="model")
        return route

    async def resolve_current(self, model: str, key: ApiKey | None) -> Route:
        """`resolve`, but a miss first re-reads the store (at most every 0.1 s), so a deployment made through
        another process (a CLI, another gateway, a sibling `--workers` process) is found at once."""
        try:
            return self.resolve(model, key)
        except ModelNotFound:
            if not await self.refresh_soon():
                raise
            return self.resolve(model, key)

    async def refresh_soon(self, min_interval: float = 0.1) -> bool:
        """`refresh()`, unless one ran within `min_interval` seconds: error paths call it, so a flood of
        unknown models can't turn into a flood of store reads."""
        if time.monotonic() - self._refreshed_at < min_interval:
            return False
        return await self.refresh()

    def no_ready_instance(self, route: Route) -> NoReadyInstance:
        return NoReadyInstance(
            f"No instance of `{route.name}` is ready; try again shortly.", retry_after=self.retry_after
        )

    def visible_routes(self, key: ApiKey | None) -> list[Route]:
        """Routes this key may use that have a ready instance, by name; an alias is listed as its own entry."""
        return [route for _, route in sorted(self.routes.items()) if route.is_ready and route.usable_by(key)]

    async def refresh(self, *, force: bool = False) -> bool:
        """Reload from the store if its revision moved (or `force`). True when the table changed."""
        async with self._lock:
            self._refreshed_at = time.monotonic()
            revision = await asyncio.to_thread(self.store.routing_revision)
            if revision == self.revision and not force:
                return False
            deployments, records = await asyncio.to_thread(self._read_all)
            self.routes = self._build(deployments, records)
            self.revision = revision
            self.loaded = True
            return True

    def _read_all(self) -> tuple[list[Deployment], list[InstanceRecord]]:
        return self.store.list_deployments(), self.store.list_instances()

    def _build(self, deployments: list[Deployment], records: list[InstanceRecord]) -> dict[str, Route]:
        by_deployment: dict[str, list[InstanceRecord]] = {}
        for record in records:
            by_deployment.setdefault(record.deployment, []).append(record)
        previous = self._instances
        self._instances = {}
        routes: dict[str, Route] = {}
        for deployment in deployments:
            spec = deployment.spec
            instances = tuple(self._instance(record, spec, previous) for record in by_deployment.get(spec.name, []))
            route = Route(spec, instances, int(deployment.created_at.timestamp()))
            routes[spec.name] = route
            for alias in spec.aliases:
                routes.setdefault(alias, replace(route, alias=alias))  # a real name wins over another's alias
        return routes

    def _instance(
        self, record: InstanceRecord, spec: DeploymentSpec, previous: dict[tuple[str, int, str], Instance]
    ) -> Instance:
        identity = (record.deployment, record.ordinal, record.url)
        instance = previous.get(identity) or Instance(
            id=(record.deployment, record.ordinal), base_url=record.url, ready=False
        )
        instance.ready = record.state is InstanceState.READY
        instance.auth_header = self._auth_header(record, spec)
        self._instances[identity] = instance
        return instance

    def _auth_header(self, record: InstanceRecord, spec: DeploymentSpec) -> bytes | None:
        if self.instance_auth is not None:
            custom = self.instance_auth(record, spec)
            if custom is not None:
                return custom
        return f"Bearer {spec.upstream_key}".encode() if spec.upstream_key else None

    async def follow(self, interval: float) -> None:
        """Poll the store's revision forever (other processes and the CLI change it)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except Exception:  # a store hiccup must not kill routing; the next poll retries
                log.exception("reloading routes failed")
