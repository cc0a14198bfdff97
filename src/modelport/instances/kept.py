"""Local instances of a gateway that shares a PostgreSQL store: they outlive it (see `adopt.py`), and the
supervisor elected after it adopts them instead of starting them again."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from modelport.instances.adopt import Adoptable, KeepPolicy, keep_touching
from modelport.instances.launch import LaunchPlan
from modelport.instances.local import STOP_GRACE_SECONDS, LocalInstance
from modelport.records import DeploymentSpec, InstanceState


class KeptInstance(LocalInstance):
    """A `LocalInstance` whose shim waits for the next supervisor when this gateway dies, and which first
    adopts the engine a previous supervisor left running, when there is one."""

    def __init__(self, *args: Any, keep: KeepPolicy, adoptable: Adoptable | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keep = keep
        self._adoptable = adoptable  # adopted on the first start, instead of starting an engine
        self._adopted: Adoptable | None = None
        self._touching: asyncio.Task[None] | None = None

    async def _start_once(self, spec: DeploymentSpec) -> tuple[LaunchPlan, int | None, bool]:
        adoptable, self._adoptable = self._adoptable, None
        if adoptable is None:
            return await super()._start_once(spec)
        return await self._run_adopted(spec, adoptable)

    async def _run_adopted(self, spec: DeploymentSpec, adoptable: Adoptable) -> tuple[LaunchPlan, int | None, bool]:
        plan = self._plan(spec, adoptable.port)
        self._adopted = adoptable
        self._touch(adoptable.keeper)
        deadline = time.monotonic() + self._startup_timeout
        while not await self._healthy(plan):  # it may still be starting
            if not adoptable.alive() or time.monotonic() > deadline:
                await self.terminate()
                return plan, None, False
            await asyncio.sleep(0.2)
        await self._report(plan, InstanceState.READY, "adopted: running since the previous supervisor started it",
                           adoptable.pid)
        code = await self._watch(plan, asyncio.ensure_future(adoptable.exited()), adoptable.pid)
        self._adopted = None
        self._stop_touching()
        return plan, code, True

    def _shim_options(self, plan: LaunchPlan) -> list[str]:
        keeper = self._keep.keeper_for(self.spec.name, self.ordinal, plan.port)
        self._touch(keeper)
        return self._keep.shim_options(keeper)

    def _touch(self, keeper: Path) -> None:
        self._stop_touching()
        every = max(0.5, self._keep.seconds / 6)
        self._touching = asyncio.create_task(keep_touching(keeper, every), name=f"keep {self.spec.name}#{self.ordinal}")

    def _stop_touching(self) -> None:
        if self._touching is not None:
            self._touching.cancel()
            self._touching = None

    async def terminate(self) -> None:
        """Stop the engine, adopted or started here."""
        self._stop_touching()
        adopted, self._adopted = self._adopted, None
        if adopted is not None:
            await adopted.terminate(STOP_GRACE_SECONDS)
            return
        await super().terminate()

    def detach(self) -> None:
        super().detach()
        self._stop_touching()  # the next supervisor touches its keeper from now on
