"""This machine as a node that instances are placed on: what it has (CPUs, memory, GPUs) and what of it is
given to which instance. GPUs are given whole and to one instance at a time; CPUs, memory and custom
resources are counted the way Ray counts them (a sum of what running instances asked for, at most what the
node has). An instance that cannot get what it asks for waits, `pending`, with the reason."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from modelport.instances.gpus import Gpu, GpuSource, detect_gpus
from modelport.instances.resources import describe
from modelport.records import Resources


@dataclass(frozen=True)
class Node:
    """A node's capacity. `gpu_problem` says why no GPU was found when looking failed."""

    name: str
    cpus: float
    memory_bytes: int
    gpus: tuple[Gpu, ...] = ()
    custom: dict[str, float] = field(default_factory=dict)
    gpu_problem: str = ""


def total_memory_bytes() -> int:
    """RAM of this machine (MemTotal of /proc/meminfo, else sysconf)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def local_node(gpu_sources: Sequence[GpuSource] | None = None, custom: dict[str, float] | None = None) -> Node:
    """This machine: the CPUs this process may run on, its memory, the GPUs `gpu_sources` list (this
    machine's NVML or nvidia-smi by default)."""
    report = detect_gpus(gpu_sources)
    return Node(socket.gethostname(), float(len(os.sched_getaffinity(0))), total_memory_bytes(), report.gpus,
                dict(custom or {}), report.problem)


@dataclass(frozen=True)
class Grant:
    """What one instance was given: its resources and the UUIDs of its GPUs."""

    resources: Resources
    gpus: tuple[str, ...] = ()

    def environment(self) -> dict[str, str]:
        """What the engine's environment gets: its GPUs as CUDA_VISIBLE_DEVICES, by UUID, since CUDA numbers
        GPUs fastest first by default while nvidia-smi and NVML number them in PCI bus order."""
        return {"CUDA_VISIBLE_DEVICES": ",".join(self.gpus)} if self.gpus else {}


Reporter = Callable[[str], Awaitable[None]]  # records `pending` with this reason


class NodeAllocator:
    """Gives a node's resources to instances by key (`deployment#ordinal`) and takes them back."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._held: dict[str, Grant] = {}
        self._released = asyncio.Event()

    def held(self) -> dict[str, Grant]:
        """Who holds what, by instance key."""
        return dict(self._held)

    def never_fits(self, wanted: Resources) -> str | None:
        """Why this node could never give `wanted`, even with nothing else running; None when it could."""
        node, short = self.node, []
        if wanted.gpus > len(node.gpus):
            found = f" ({node.gpu_problem})" if node.gpu_problem and not node.gpus else ""
            short.append(f"{wanted.gpus} GPU{'s' if wanted.gpus != 1 else ''} (it has {len(node.gpus)}{found})")
        if wanted.cpus > node.cpus:
            short.append(f"{wanted.cpus:g} CPUs (it has {node.cpus:g})")
        if wanted.memory_bytes > node.memory_bytes:
            short.append(f"{wanted.memory_bytes / 2**30:.1f} GiB of memory (it has {node.memory_bytes / 2**30:.1f})")
        for name, amount in sorted(wanted.custom.items()):
            if amount > node.custom.get(name, 0.0):
                short.append(f"{name}={amount:g} (it has {node.custom.get(name, 0.0):g})")
        return f"node {node.name} cannot give {', '.join(short)}" if short else None

    def try_grant(self, key: str, wanted: Resources, prefer: tuple[str, ...] = ()) -> Grant | str:
        """A grant of `wanted` to `key` (the GPUs in `prefer` first, when free), or why not now."""
        if key in self._held:
            return self._held[key]
        impossible = self.never_fits(wanted)
        if impossible is not None:
            return impossible
        used = list(self._held.values())
        busy = {uuid for grant in used for uuid in grant.gpus}
        free = [gpu.uuid for gpu in self.node.gpus if gpu.uuid not in busy]
        free.sort(key=lambda uuid: uuid not in prefer)
        holders = ", ".join(sorted(self._held)) or "nothing"
        if len(free) < wanted.gpus:
            return (f"waiting for {wanted.gpus} free GPU(s) on node {self.node.name}: {len(free)} free "
                    f"(held by {holders})")
        sums = _sums(grant.resources for grant in used)
        for name, amount, capacity in self._countable(wanted):
            if sums.get(name, 0.0) + amount > capacity:
                free_amount = capacity - sums.get(name, 0.0)
                return (f"waiting for {amount:g} {name} on node {self.node.name}: {free_amount:g} free of "
                        f"{capacity:g} (held by {holders})")
        grant = self._held[key] = Grant(wanted, tuple(free[: wanted.gpus]))
        return grant

    def _countable(self, wanted: Resources) -> list[tuple[str, float, float]]:
        node = self.node
        counted = [("CPU", wanted.cpus, node.cpus), ("bytes of memory", float(wanted.memory_bytes),
                                                     float(node.memory_bytes))]
        counted += [(name, amount, node.custom.get(name, 0.0)) for name, amount in wanted.custom.items()]
        return [(name, amount, capacity) for name, amount, capacity in counted if amount]

    async def acquire(self, key: str, wanted: Resources, report: Reporter, recheck_seconds: float = 5.0,
                      prefer: tuple[str, ...] = ()) -> Grant:
        """Wait until `wanted` can be given to `key`, reporting why it waits whenever that changes."""
        said = ""
        while True:
            self._released.clear()  # before looking: a release while we report below still wakes us
            outcome = self.try_grant(key, wanted, prefer)
            if isinstance(outcome, Grant):
                return outcome
            if outcome != said:
                said = outcome
                await report(f"needs {describe(wanted)}: {outcome}")
            try:
                await asyncio.wait_for(self._released.wait(), recheck_seconds)
            except TimeoutError:
                pass

    def release(self, key: str) -> None:
        """Take back what `key` holds (nothing if it holds nothing) and wake the instances waiting."""
        if self._held.pop(key, None) is not None:
            self._released.set()


def _sums(resources: Iterable[Resources]) -> dict[str, float]:
    sums: dict[str, float] = {}
    for held in resources:
        sums["CPU"] = sums.get("CPU", 0.0) + held.cpus
        sums["bytes of memory"] = sums.get("bytes of memory", 0.0) + held.memory_bytes
        for name, amount in held.custom.items():
            sums[name] = sums.get(name, 0.0) + amount
    return sums
