"""What `modelport nodes` shows: each node with its CPUs, memory and GPUs, and the instances that run there
with what they were given. Under local placement this machine is described from itself, other nodes (another
gateway's machine) only by the instances the store says run there; under Ray placement every node is described
by Ray (its resources, total and available)."""

from __future__ import annotations

from dataclasses import dataclass, field

from modelport.instances.gpus import Gpu
from modelport.instances.node import Node
from modelport.instances.ray_view import RayNode
from modelport.records import InstanceRecord, InstanceState, Resources

GONE = frozenset({InstanceState.STOPPED, InstanceState.FAILED})


@dataclass(frozen=True)
class GpuUse:
    """A GPU and the instance it is given to ('' for none)."""

    index: int
    uuid: str
    name: str
    memory_total_mib: int
    memory_used_mib: int
    used_by: str = ""


@dataclass(frozen=True)
class PlacedInstance:
    deployment: str
    ordinal: int
    state: str
    url: str
    gpus: tuple[str, ...]
    resources: Resources


@dataclass(frozen=True)
class NodeOverview:
    name: str
    local: bool  # described from itself (capacity known), else only from the store's records
    cpus: float | None
    memory_bytes: int | None
    gpus: list[GpuUse] = field(default_factory=list)
    gpu_problem: str = ""
    allocated: Resources = field(default_factory=Resources)
    instances: list[PlacedInstance] = field(default_factory=list)
    placement: str = "local"  # "ray": a node of the Ray cluster, described by Ray
    node_id: str = ""  # Ray's
    address: str = ""
    resources_total: dict[str, float] = field(default_factory=dict)  # Ray's accounting, by Ray's names
    resources_available: dict[str, float] = field(default_factory=dict)


def overview(local: Node, records: list[InstanceRecord], wanted: dict[str, Resources]) -> list[NodeOverview]:
    """This machine first, then every other node an instance is recorded on, by name. `wanted` holds each
    deployment's resources; instances stopped or failed hold nothing and are left out."""
    placed = _by_node(records, wanted, [local.name])
    nodes = []
    for name, instances in placed.items():
        is_local = name == local.name
        nodes.append(NodeOverview(
            name, is_local, local.cpus if is_local else None, local.memory_bytes if is_local else None,
            _gpu_uses(local.gpus, instances) if is_local else [], local.gpu_problem if is_local else "",
            _allocated(instances), instances))
    return nodes


def ray_overview(ray_nodes: list[RayNode], records: list[InstanceRecord],
                 wanted: dict[str, Resources]) -> list[NodeOverview]:
    """The alive nodes of the Ray cluster as Ray accounts for them, each with the instances recorded there,
    then any node an instance is still recorded on that Ray no longer lists."""
    placed = _by_node(records, wanted, [node.name for node in ray_nodes])
    nodes = []
    for node in ray_nodes:
        instances = placed.pop(node.name)
        nodes.append(NodeOverview(
            node.name, False, node.total.get("CPU", 0.0), int(node.total.get("memory", 0)),
            allocated=_allocated(instances), instances=instances, placement="ray", node_id=node.node_id,
            address=node.address, resources_total=node.total, resources_available=node.available))
    return nodes + [NodeOverview(name, False, None, None, allocated=_allocated(instances), instances=instances,
                                 placement="ray") for name, instances in placed.items()]


def _by_node(records: list[InstanceRecord], wanted: dict[str, Resources],
             known: list[str]) -> dict[str, list[PlacedInstance]]:
    """The instances that hold something, by the node they are recorded on: the `known` nodes first."""
    placed: dict[str, list[PlacedInstance]] = {name: [] for name in known}
    for record in records:
        if record.state in GONE or not record.node:
            continue
        resources = wanted.get(record.deployment, Resources())
        placed.setdefault(record.node, []).append(PlacedInstance(
            record.deployment, record.ordinal, record.state.value, record.url, record.gpus, resources))
    return placed


def _gpu_uses(gpus: tuple[Gpu, ...], instances: list[PlacedInstance]) -> list[GpuUse]:
    holders = {uuid: f"{i.deployment}#{i.ordinal}" for i in instances for uuid in i.gpus}
    return [GpuUse(g.index, g.uuid, g.name, g.memory_total_mib, g.memory_used_mib, holders.get(g.uuid, ""))
            for g in gpus]


def _allocated(instances: list[PlacedInstance]) -> Resources:
    custom: dict[str, float] = {}
    for instance in instances:
        for name, amount in instance.resources.custom.items():
            custom[name] = custom.get(name, 0.0) + amount
    return Resources(
        cpus=sum(i.resources.cpus for i in instances),
        gpus=sum(i.resources.gpus for i in instances),
        memory_bytes=sum(i.resources.memory_bytes for i in instances),
        custom=custom,
    )
