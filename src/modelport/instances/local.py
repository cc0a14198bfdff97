"""Managed instances on this machine: start the process, wait until healthy, watch it, restart it with
exponential backoff when it dies, stop it (and everything it forked) on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from modelport.auth.instance_secrets import InstanceSecrets
from modelport.config import MAX_REQUEST_BYTES
from modelport.instances.fetching import fetch_model, needs_fetch
from modelport.instances.launch import LaunchPlan, plan_launch
from modelport.instances.node import Grant, NodeAllocator
from modelport.private_files import open_private_append, private_dir
from modelport.records import DeploymentSpec, InstanceState

log = logging.getLogger(__name__)


class StateSink(Protocol):
    """Records an instance's state: where it listens, why, its process, its node and GPUs."""

    async def __call__(self, ordinal: int, url: str, state: InstanceState, reason: str, pid: int | None = None, *,
                       node: str = "", gpus: tuple[str, ...] = ()) -> None: ...


MAX_FAILED_STARTS = 5  # consecutive starts that never became ready before giving up (state `failed`)
MAX_BACKOFF_SECONDS = 60.0
UNHEALTHY_AFTER = 3  # consecutive failed probes of a running instance
STOP_GRACE_SECONDS = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalInstance:
    """One replica of a managed deployment, from start to stop."""

    def __init__(
        self,
        spec: DeploymentSpec,
        ordinal: int,
        logs_dir: Path,
        session: aiohttp.ClientSession,
        sink: StateSink,
        probe_seconds: float,
        secrets: InstanceSecrets,
        max_body_bytes: int = MAX_REQUEST_BYTES,
        allocator: NodeAllocator | None = None,
    ) -> None:
        self.spec = spec
        self.ordinal = ordinal
        self._allocator = allocator
        self._grant = Grant(spec.resources)
        self.prefer_gpus: tuple[str, ...] = ()  # the GPUs it had when adopted: its engine uses those
        self._secrets = secrets
        self._logs_dir = logs_dir
        self._session = session
        self._sink = sink
        self._probe_seconds = probe_seconds
        self._max_body_bytes = max_body_bytes
        self._process: asyncio.subprocess.Process | None = None
        self._detached = False  # left running for the next supervisor (leadership lost or handed over)
        self._startup_timeout = float(spec.engine_args.get("startup_timeout", "600"))
        self._first_backoff = float(spec.engine_args.get("restart_backoff", "1"))

    async def run(self) -> None:
        """Keep the instance running until cancelled; first fetch its model when it names one by name."""
        spec = self.spec
        if needs_fetch(spec):
            fetched = await fetch_model(spec, self._report_phase)
            if fetched is None:
                return
            spec = fetched
        key = f"{spec.name}#{self.ordinal}"
        failed_starts, backoff = 0, self._first_backoff
        try:
            if self._allocator is not None and not spec.resources.is_empty:
                self._grant = await self._allocator.acquire(key, spec.resources, self._report_pending,
                                                            prefer=self.prefer_gpus)
            while True:
                plan, code, was_ready = await self._start_once(spec)
                failed_starts = 0 if was_ready else failed_starts + 1
                backoff = self._first_backoff if was_ready else backoff
                why = f"exited with status {code}" if code is not None else \
                    "its process exited" if was_ready else "did not become healthy in time"
                if failed_starts >= MAX_FAILED_STARTS:
                    await self._report(
                        plan,
                        InstanceState.FAILED,
                        f"{why}; gave up after {failed_starts} tries, see `modelport logs {self.spec.name}`",
                    )
                    return
                await self._report(plan, InstanceState.RESTARTING, f"{why}; restarting in {backoff:g} s")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        finally:
            if not self._detached:
                await self.terminate()
            if self._allocator is not None:
                self._allocator.release(key)

    def detach(self) -> None:
        """Once cancelled, leave the engine running (for the supervisor elected next to adopt)."""
        self._detached = True

    def _plan(self, spec: DeploymentSpec, port: int) -> LaunchPlan:
        secret = self._secrets.for_instance(self.spec.name, self.ordinal, port)
        plan = plan_launch(spec, self.ordinal, port, secret, self._logs_dir, self._max_body_bytes)
        return replace(plan, env={**plan.env, **self._grant.environment()})

    async def _start_once(self, spec: DeploymentSpec) -> tuple[LaunchPlan, int | None, bool]:
        """One run of the engine: (its plan, its exit status or None, whether it became ready)."""
        plan = self._plan(spec, free_port())
        code, was_ready = await self._run_once(plan)
        return plan, code, was_ready

    def _shim_options(self, plan: LaunchPlan) -> list[str]:
        """Options of the shim before `--` (none here: the engine dies with this gateway)."""
        return []

    async def _run_once(self, plan: LaunchPlan) -> tuple[int | None, bool]:
        """Start, wait until healthy, watch until it exits. (exit status or None, whether it was ready)."""
        # Never the whole command line: it may carry the instance's secret.
        await self._report(plan, InstanceState.STARTING, f"starting {Path(plan.argv[0]).name} on port {plan.port}")
        process = self._process = await self._spawn(plan)
        pid = process.pid
        await self._report(plan, InstanceState.STARTING, "process started, waiting for its health check", pid)
        if not await self._wait_healthy(plan):
            exited = process.returncode
            await self.terminate()
            return exited, False
        await self._report(plan, InstanceState.READY, "health check passed", pid)
        return await self._watch(plan, asyncio.ensure_future(process.wait()), pid), True

    async def _spawn(self, plan: LaunchPlan) -> asyncio.subprocess.Process:
        private_dir(plan.log_path.parent)
        with open_private_append(plan.log_path) as log_file:
            log_file.write(
                f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {plan.argv[0]} on port {plan.port}\n".encode()
            )
            log_file.flush()
            # The shim makes the instance's process group die with the gateway, even on SIGKILL.
            return await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "modelport.instances.shim",
                *self._shim_options(plan),
                "--",
                *plan.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, **plan.env},
                start_new_session=True,
            )

    async def _healthy(self, plan: LaunchPlan) -> bool:
        try:
            async with self._session.get(
                plan.health_url,
                headers={"authorization": f"Bearer {plan.secret}"},
                timeout=aiohttp.ClientTimeout(total=5),
            ) as response:
                await response.read()
                return 200 <= response.status < 300
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def _wait_healthy(self, plan: LaunchPlan) -> bool:
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.returncode is not None:
                return False
            if await self._healthy(plan):
                return True
            await asyncio.sleep(0.2)
        return False

    async def _watch(self, plan: LaunchPlan, exited: asyncio.Future[Any], pid: int) -> int | None:
        """Probe while it runs; return its exit status (None when unknown) once `exited` is done."""
        failures = 0
        try:
            while True:
                done, _ = await asyncio.wait({exited}, timeout=self._probe_seconds)
                if done:
                    code = exited.result()
                    return code if isinstance(code, int) else None
                healthy = await self._healthy(plan)
                if healthy and failures >= UNHEALTHY_AFTER:
                    await self._report(plan, InstanceState.READY, "health check passes again", pid)
                failures = 0 if healthy else failures + 1
                if failures == UNHEALTHY_AFTER:
                    await self._report(plan, InstanceState.UNHEALTHY, "health check failing", pid)
        finally:
            exited.cancel()

    async def terminate(self) -> None:
        """SIGTERM the instance's group, SIGKILL it after a grace period."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()

    @property
    def _node(self) -> str:
        return self._allocator.node.name if self._allocator is not None else ""

    async def _report_phase(self, state: InstanceState, reason: str) -> None:
        await self._sink(self.ordinal, "", state, reason, None, node=self._node)

    async def _report_pending(self, reason: str) -> None:
        await self._sink(self.ordinal, "", InstanceState.PENDING, reason, None, node=self._node)

    async def _report(self, plan: LaunchPlan, state: InstanceState, reason: str, pid: int | None = None) -> None:
        await self._sink(self.ordinal, plan.base_url, state, reason, pid, node=self._node, gpus=self._grant.gpus)
