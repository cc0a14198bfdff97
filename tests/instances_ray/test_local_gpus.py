"""Local placement on a machine whose GPUs are a recorded nvidia-smi answer: a real supervisor, a real SQLite
store and real instance processes; instances that ask for GPUs get free ones through CUDA_VISIBLE_DEVICES, and
wait `pending` with the reason while none is free or when the machine could never give them."""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from modelport.auth.instance_secrets import InstanceSecrets
from modelport.instances.gpus import recorded_source
from modelport.instances.node import NodeAllocator, local_node
from modelport.instances.placement import LocalPlacement
from modelport.instances.supervisor import Supervisor
from modelport.records import DeploymentSpec, InstanceRecord, Resources
from modelport.routing.router import Router
from modelport.store import Store
from tests.instances_ray.test_gpus import FOUR

FAKE = (sys.executable, "-m", "modelport.testing", "--port", "{port}", "--model", "{name}", "--api-key", "{secret}")
TWO_GPUS = "\n".join(FOUR.splitlines()[:2])


def managed(name: str, replicas: int = 1, **resources: object) -> DeploymentSpec:
    return DeploymentSpec(name=name, engine="command", command=FAKE, replicas=replicas,
                          resources=Resources(**resources))  # type: ignore[arg-type]


def environment(pid: int) -> dict[str, str]:
    """The environment a process started with (the instance's shim: the engine inherits it)."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


async def until(store: Store, check: Callable[[list[InstanceRecord]], bool], timeout: float = 30) -> list[InstanceRecord]:
    deadline = time.monotonic() + timeout
    while True:
        records = await asyncio.to_thread(store.list_instances)
        if check(records) or time.monotonic() > deadline:
            return records
        await asyncio.sleep(0.1)


def states(records: list[InstanceRecord]) -> dict[str, str]:
    return {f"{r.deployment}#{r.ordinal}": r.state.value for r in records}


def test_gpus_are_given_to_instances_and_the_rest_wait_pending(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = Store.open(f"sqlite:///{tmp_path}/modelport.db")
        session = aiohttp.ClientSession()
        allocator = NodeAllocator(local_node([recorded_source(TWO_GPUS)]))
        placement = LocalPlacement(tmp_path / "logs", session, 0.3, InstanceSecrets(secrets.token_bytes(32)),
                                   allocator=allocator)
        supervisor = Supervisor(store, Router(store), session, 0.3, placement)
        try:
            for spec in (managed("pair", replicas=2, gpus=1), managed("cpu-only")):
                store.add_deployment(spec)
            await supervisor.reconcile()
            await until(store, lambda rs: states(rs).get("pair#1") == "ready" and states(rs).get("pair#0") == "ready")
            for spec in (managed("late", gpus=1), managed("huge", gpus=4)):
                store.add_deployment(spec)
            await supervisor.reconcile()
            records = await until(store, lambda rs: states(rs).get("huge#0") == "pending"
                                  and states(rs).get("late#0") == "pending" and states(rs).get("cpu-only#0") == "ready")
            by_name = {f"{r.deployment}#{r.ordinal}": r for r in records}
            assert states(records) == {"pair#0": "ready", "pair#1": "ready", "cpu-only#0": "ready",
                                       "late#0": "pending", "huge#0": "pending"}, states(records)
            given = {by_name[k].gpus for k in ("pair#0", "pair#1")}
            assert given == {(allocator.node.gpus[0].uuid,), (allocator.node.gpus[1].uuid,)}
            for key in ("pair#0", "pair#1"):
                pid = by_name[key].pid
                assert pid is not None
                assert environment(pid)["CUDA_VISIBLE_DEVICES"] == by_name[key].gpus[0]
            assert "CUDA_VISIBLE_DEVICES" not in environment(by_name["cpu-only#0"].pid or 0) or \
                environment(by_name["cpu-only#0"].pid or 0)["CUDA_VISIBLE_DEVICES"] == ""
            assert "needs 1 GPU: waiting for 1 free GPU(s)" in by_name["late#0"].reason
            assert by_name["huge#0"].reason.endswith("cannot give 4 GPUs (it has 2)")
            assert by_name["pair#0"].node == allocator.node.name

            store.remove_deployment("pair")  # its GPUs go back: `late` gets one
            await supervisor.reconcile()
            records = await until(store, lambda rs: states(rs).get("late#0") == "ready")
            late = next(r for r in records if r.deployment == "late")
            assert late.state.value == "ready" and len(late.gpus) == 1
            assert states(records)["huge#0"] == "pending"
        finally:
            await supervisor.stop()
            await session.close()
            store.close()

    asyncio.run(scenario())
