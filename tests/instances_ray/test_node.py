"""A node's resources given to instances: GPUs whole and exclusive, CPUs and memory summed, pending reasons."""

from __future__ import annotations

import asyncio

from modelport.instances.gpus import parse_nvidia_smi
from modelport.instances.node import Grant, Node, NodeAllocator, local_node
from modelport.instances.resources import describe, parse_custom, parse_memory
from modelport.records import Resources
from tests.instances_ray.test_gpus import FOUR

GIB = 2**30


def allocator(gpus: int = 2, cpus: float = 4, memory: int = 16 * GIB, **custom: float) -> NodeAllocator:
    return NodeAllocator(Node("n1", cpus, memory, tuple(parse_nvidia_smi(FOUR))[:gpus], custom))


def test_gpus_are_given_whole_to_one_instance_at_a_time() -> None:
    nodes = allocator()
    first = nodes.try_grant("a#0", Resources(gpus=1))
    second = nodes.try_grant("a#1", Resources(gpus=1))
    assert isinstance(first, Grant) and isinstance(second, Grant)
    assert {first.gpus[0], second.gpus[0]} == {g.uuid for g in nodes.node.gpus}
    assert nodes.try_grant("a#0", Resources(gpus=1)) == first  # asking again: what it holds
    busy = nodes.try_grant("b#0", Resources(gpus=1))
    assert busy == "waiting for 1 free GPU(s) on node n1: 0 free (held by a#0, a#1)"
    nodes.release("a#1")
    again = nodes.try_grant("b#0", Resources(gpus=1))
    assert isinstance(again, Grant) and again.gpus == second.gpus


def test_what_the_node_could_never_give_says_so() -> None:
    nodes = allocator(gpus=1)
    assert nodes.try_grant("big#0", Resources(gpus=2, cpus=8, memory_bytes=32 * GIB, custom={"node_b": 1})) == (
        "node n1 cannot give 2 GPUs (it has 1), 8 CPUs (it has 4), 32.0 GiB of memory (it has 16.0), "
        "node_b=1 (it has 0)")


def test_cpus_memory_and_custom_resources_are_summed_up_to_the_node() -> None:
    nodes = allocator(cpus=2, node_b=1)
    assert isinstance(nodes.try_grant("a#0", Resources(cpus=1.5, custom={"node_b": 0.5})), Grant)
    assert "waiting for 1 CPU on node n1: 0.5 free of 2" in str(nodes.try_grant("b#0", Resources(cpus=1)))
    assert isinstance(nodes.try_grant("c#0", Resources(cpus=0.5, custom={"node_b": 0.5})), Grant)
    assert "waiting for 0.1 node_b" in str(nodes.try_grant("d#0", Resources(custom={"node_b": 0.1})))


def test_a_waiting_instance_reports_once_and_gets_what_is_released() -> None:
    async def scenario() -> tuple[list[str], Grant]:
        nodes, said = allocator(gpus=1), []
        holder = nodes.try_grant("a#0", Resources(gpus=1))
        assert isinstance(holder, Grant)

        async def report(reason: str) -> None:
            said.append(reason)

        waiting = asyncio.create_task(nodes.acquire("b#0", Resources(gpus=1), report, recheck_seconds=0.05))
        await asyncio.sleep(0.3)  # several rechecks: still one report, the reason did not change
        assert not waiting.done()
        nodes.release("a#0")
        return said, await asyncio.wait_for(waiting, 2)

    said, grant = asyncio.run(scenario())
    assert said == ["needs 1 GPU: waiting for 1 free GPU(s) on node n1: 0 free (held by a#0)"]
    assert len(grant.gpus) == 1


def test_this_machine_as_a_node_with_recorded_gpus() -> None:
    from modelport.instances.gpus import recorded_source

    node = local_node([recorded_source(FOUR)])
    assert node.cpus >= 1 and node.memory_bytes > 256 * 2**20 and len(node.gpus) == 4
    assert local_node([]).gpu_problem.startswith("no NVIDIA driver found")


def test_sizes_and_custom_resources_parse() -> None:
    assert parse_memory("8GiB") == 8 * GIB and parse_memory("512 MiB") == 512 * 2**20 and parse_memory("2G") == 2 * 10**9
    assert parse_memory("1024") == 1024
    assert parse_custom(["node_b=1", "accel=0.5"]) == {"node_b": 1.0, "accel": 0.5}
    for bad in ("8 parsecs", "", "GiB"):
        try:
            parse_memory(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
    assert describe(Resources(cpus=2, gpus=1, memory_bytes=8 * GIB, custom={"node_b": 1})) == \
        "2 CPUs, 1 GPU, 8.0 GiB, node_b=1"
