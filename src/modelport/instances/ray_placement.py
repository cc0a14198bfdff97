"""Instances on a Ray cluster (`modelport serve --placement ray --ray-address ADDR`, extra `modelport[ray]`).

Each instance is a Ray actor (`ray_host.EngineHost`) asking for the deployment's resources; Ray picks the node,
the actor starts the engine there, and the gateway reaches it at the node's address and the port the actor
found. Actors are detached and named after their instance, so that the supervisor elected after this one
(gateways sharing PostgreSQL) adopts them instead of starting them again; a gateway that stops on SQLite
stops them. While Ray cannot place an actor the instance is `pending`, with the reason when no node could
ever give what it asks; when its node dies it becomes `unhealthy` and is placed again. A model named by name
is fetched by the actor into its node's cache first (`downloading 37% (...)`, as with local placement).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp

from modelport.auth.instance_secrets import InstanceSecrets
from modelport.instances.fetching import FetchStatus, follow_fetch, needs_fetch
from modelport.instances.launch import plan_launch
from modelport.instances.local import (
    MAX_BACKOFF_SECONDS,
    MAX_FAILED_STARTS,
    STOP_GRACE_SECONDS,
    UNHEALTHY_AFTER,
    StateSink,
)
from modelport.instances.ray_host import SECRET_MARK, EngineHost, bind_to
from modelport.instances.ray_view import actor_name, connect
from modelport.instances.resources import describe
from modelport.records import DeploymentSpec, InstanceRecord, InstanceState, Resources

log = logging.getLogger(__name__)

PLACE_CHECK_SECONDS = 2.0
FETCH_FAILED = "fetch failed"  # an outcome that is not retried: reported `failed` with the reason
NO_LOGS_HERE = Path("logs")  # plan_launch names a log file; only its name is used: the actor's node keeps it


def unplaceable(wanted: Resources, nodes: list[dict[str, Any]]) -> str | None:
    """Why no alive node of the cluster could ever hold `wanted` (None when one could)."""
    alive = [node.get("Resources", {}) for node in nodes if node.get("Alive")]
    asks = {"CPU": wanted.cpus, "GPU": float(wanted.gpus), "memory": float(wanted.memory_bytes), **wanted.custom}
    asks = {name: amount for name, amount in asks.items() if amount}
    if any(all(total.get(name, 0.0) >= amount for name, amount in asks.items()) for total in alive):
        return None
    most = {name: max((total.get(name, 0.0) for total in alive), default=0.0) for name in asks}
    largest = ", ".join(f"{name} {amount:g}" for name, amount in most.items())
    return f"no node of the Ray cluster ({len(alive)} alive) has {describe(wanted)} (the most any has: {largest})"


class RayPlacement:
    """Instances as Ray actors on the cluster at `address`."""

    def __init__(self, address: str | None, session: aiohttp.ClientSession, probe_seconds: float,
                 secrets: InstanceSecrets, max_body_bytes: int) -> None:
        self._address = address
        self._session = session
        self.probe_seconds = probe_seconds
        self.secrets = secrets
        self.max_body_bytes = max_body_bytes

    async def connect(self) -> Any:
        """The `ray` module, connected to the cluster (once; `ray.init` blocks, so in a thread)."""
        return await asyncio.to_thread(connect, self._address)

    def instance(self, spec: DeploymentSpec, ordinal: int, sink: StateSink,
                 recorded: InstanceRecord | None = None) -> RayInstance:
        return RayInstance(self, spec, ordinal, sink, recorded)

    async def probe(self, url: str, secret: str) -> bool:
        try:
            async with self._session.get(url, headers={"authorization": f"Bearer {secret}"},
                                         timeout=aiohttp.ClientTimeout(total=5)) as response:
                await response.read()
                return 200 <= response.status < 300
        except (aiohttp.ClientError, TimeoutError):
            return False


class RayInstance:
    """One replica as a Ray actor, placed again when its node dies, restarted with backoff when it exits."""

    def __init__(self, placement: RayPlacement, spec: DeploymentSpec, ordinal: int, sink: StateSink,
                 recorded: InstanceRecord | None = None) -> None:
        self.spec = spec
        self._recorded = recorded
        self._detached = False
        self._name = actor_name(spec.name, ordinal)
        self.ordinal = ordinal
        self._placement = placement
        self._sink = sink
        self._actor: Any = None
        self._placed = True  # whether the actor is on a node (one Ray has not placed yet runs nothing to stop)
        self._startup_timeout = float(spec.engine_args.get("startup_timeout", "600"))
        self._first_backoff = float(spec.engine_args.get("restart_backoff", "1"))

    def detach(self) -> None:
        """Once cancelled, leave the actor and its engine running for the next supervisor."""
        self._detached = True

    async def run(self) -> None:
        ray = await self._placement.connect()
        failed, backoff = 0, self._first_backoff
        adoptable = await self._adoptable(ray)
        try:
            while True:
                outcome = await (self._adopt(ray, *adoptable) if adoptable else self._run_once(ray))
                adoptable = None
                if outcome == FETCH_FAILED:
                    return
                if outcome == "node lost":
                    continue  # placed again at once, on a node that has the resources
                failed = 0 if outcome == "exited" else failed + 1
                backoff = self._first_backoff if outcome == "exited" else backoff
                if failed >= MAX_FAILED_STARTS:
                    await self._report("", InstanceState.FAILED, f"never became healthy; gave up after {failed} tries")
                    return
                await self._report("", InstanceState.RESTARTING, f"{outcome}; restarting in {backoff:g} s")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        finally:
            if not self._detached:
                await self.terminate(ray)

    async def _adoptable(self, ray: Any) -> tuple[Any, dict[str, Any]] | None:
        """The actor a previous supervisor left running for this instance, if its record says so and its
        engine runs; any other actor of that name is stopped (a new one takes its name)."""
        try:
            actor = await asyncio.to_thread(ray.get_actor, self._name)
        except ValueError:
            return None
        recorded, info = self._recorded, None
        with contextlib.suppress(Exception):
            info = await asyncio.wait_for(_awaited(actor.describe.remote()), 30)
        if recorded is not None and info is not None and info["running"] and info["pid"] == recorded.pid \
                and recorded.state in (InstanceState.READY, InstanceState.UNHEALTHY, InstanceState.STARTING):
            return actor, info
        self._actor, self._placed = actor, info is not None  # one that never answered may never have been placed
        await self.terminate(ray)
        return None

    async def _adopt(self, ray: Any, actor: Any, info: dict[str, Any]) -> str:
        self._actor, self._placed = actor, True
        node, gpus = f"{info['address']}/{info['node_id'][:8]}", tuple(info["gpus"])
        url, health, secret = self._where(info)
        await self._report(url, InstanceState.READY, f"adopted on Ray node {node}: running since the previous "
                           "supervisor started it", info["pid"], node, gpus)
        return await self._watch(ray, url, health, secret, info["pid"], node, gpus, ready=True)

    def _where(self, placed: dict[str, Any]) -> tuple[str, str, str]:
        """(base URL, health URL, secret) of the engine on the node the actor was placed on."""
        port, address = int(placed["port"]), placed["address"]
        plan = plan_launch(self.spec, self.ordinal, port, SECRET_MARK, NO_LOGS_HERE, self._placement.max_body_bytes)
        secret = self._placement.secrets.for_instance(self.spec.name, self.ordinal, port)
        return f"http://{address}:{port}/v1", f"http://{address}:{port}{plan.health_path}", secret

    async def _run_once(self, ray: Any) -> str:
        """Place, start, watch: 'exited', 'node lost' or why it never became healthy."""
        wanted = self.spec.resources
        host = ray.remote(EngineHost).options(
            num_cpus=wanted.cpus, num_gpus=wanted.gpus, memory=wanted.memory_bytes or None,
            resources=dict(wanted.custom), max_restarts=0, max_concurrency=1, name=self._name,
            lifetime="detached")
        self._actor, self._placed = await self._create(ray, host), False
        placed = await self._wait_placed(ray, self._actor.place.remote())
        self._placed = True
        node = f"{placed['address']}/{placed['node_id'][:8]}"
        spec = self.spec
        if needs_fetch(spec):
            try:
                fetched = await self._fetch_on_node(node)
            except (ray.exceptions.RayActorError, TimeoutError):
                self._drop_actor(ray)
                return "node lost"
            if fetched is None:
                return FETCH_FAILED
            spec = replace(spec, model=fetched)
        port, address = int(placed["port"]), placed["address"]
        plan = plan_launch(spec, self.ordinal, port, SECRET_MARK, NO_LOGS_HERE, self._placement.max_body_bytes)
        url, health, secret = self._where(placed)
        boxed = ray.put(secret)
        try:
            pid = await self._actor.start.remote(bind_to(plan.argv, address), plan.env,
                                                 f"{plan.log_path.name}", [boxed])
        except ray.exceptions.RayActorError:
            return "node lost"
        finally:
            del boxed  # the only reference: the object store drops the secret
        gpus = tuple(placed["gpus"])
        await self._report(url, InstanceState.STARTING, f"started on Ray node {node}", pid, node, gpus)
        return await self._watch(ray, url, health, secret, pid, node, gpus)

    async def _fetch_on_node(self, node: str) -> str | None:
        """The model's path on the actor's node once the actor fetched it into that node's cache, reporting
        its progress meanwhile; None when the fetch failed (reported `failed` with the reason)."""
        actor, model = self._actor, self.spec.model
        assert model is not None
        await asyncio.wait_for(_awaited(actor.begin_fetch.remote(model)), 30)

        async def poll() -> FetchStatus:
            status: FetchStatus = await asyncio.wait_for(_awaited(actor.fetch_status.remote()), 30)
            return status

        async def report(state: InstanceState, reason: str) -> None:
            await self._report("", state, reason, node=node)

        return await follow_fetch(model, poll, report)

    async def _create(self, ray: Any, host: Any) -> Any:
        """A new actor under this instance's name, once the name of the one before is free."""
        deadline = time.monotonic() + 30
        while True:
            try:
                return host.remote()
            except ValueError:  # the previous actor of this name is still being ended
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    async def _wait_placed(self, ray: Any, placed_ref: Any) -> dict[str, Any]:
        waiting = asyncio.ensure_future(_awaited(placed_ref))
        said = ""
        while True:
            done, _ = await asyncio.wait({waiting}, timeout=PLACE_CHECK_SECONDS)
            if done:
                placed: dict[str, Any] = waiting.result()
                return placed
            why = unplaceable(self.spec.resources, await asyncio.to_thread(ray.nodes))
            reason = f"needs {describe(self.spec.resources)}: {why}" if why else \
                f"waiting for Ray to place it (needs {describe(self.spec.resources)})"
            if reason != said:
                said = reason
                await self._report("", InstanceState.PENDING, reason)

    async def _watch(self, ray: Any, url: str, health: str, secret: str, pid: int, node: str,
                     gpus: tuple[str, ...], ready: bool = False) -> str:
        failures, deadline = 0, time.monotonic() + self._startup_timeout
        while True:
            try:
                code = await asyncio.wait_for(_awaited(self._actor.poll.remote()), 30)
            except (ray.exceptions.RayActorError, TimeoutError):
                await self._report(url, InstanceState.UNHEALTHY, f"its Ray node {node} is gone; placing it again",
                                   pid, node, gpus)
                self._drop_actor(ray)
                return "node lost"
            if code is not None:  # end the actor too: the next start takes its name (a CI run waited on it)
                await self.terminate(ray)
                return "exited" if ready else "exited before it became healthy"
            healthy = await self._placement.probe(health, secret)
            if not ready and healthy:
                ready = True
                await self._report(url, InstanceState.READY, f"health check passed on Ray node {node}", pid, node,
                                   gpus)
            elif not ready and time.monotonic() > deadline:
                await self.terminate(ray)
                return "did not become healthy in time"
            elif ready:
                if healthy and failures >= UNHEALTHY_AFTER:
                    await self._report(url, InstanceState.READY, "health check passes again", pid, node, gpus)
                failures = 0 if healthy else failures + 1
                if failures == UNHEALTHY_AFTER:
                    await self._report(url, InstanceState.UNHEALTHY, "health check failing", pid, node, gpus)
            await asyncio.sleep(self._placement.probe_seconds if ready else 0.2)

    async def terminate(self, ray: Any) -> None:
        """Stop the engine's process group through the actor, then end the actor (`ray.kill` alone would
        leave the engine running until its shim noticed)."""
        actor, self._actor = self._actor, None
        if actor is None:
            return
        if self._placed:  # asking an actor still waiting for a node would wait the whole grace in vain
            with contextlib.suppress(Exception):
                await asyncio.wait_for(_awaited(actor.stop.remote(STOP_GRACE_SECONDS)), STOP_GRACE_SECONDS + 10)
        with contextlib.suppress(Exception):
            ray.kill(actor)

    def _drop_actor(self, ray: Any) -> None:
        """End an actor that no longer answers (its node is gone), without asking it to stop its engine."""
        actor, self._actor = self._actor, None
        with contextlib.suppress(Exception):
            ray.kill(actor)

    async def _report(self, url: str, state: InstanceState, reason: str, pid: int | None = None, node: str = "",
                      gpus: tuple[str, ...] = ()) -> None:
        await self._sink(self.ordinal, url, state, reason, pid, node=node, gpus=gpus)


async def _awaited(ref: Any) -> Any:
    return await ref

