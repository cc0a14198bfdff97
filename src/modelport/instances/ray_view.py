"""What the admin API asks of the Ray cluster under `--placement ray`: its nodes with what they have (Ray's own
accounting, total and available) and the tail of an instance's engine log, which stays on the node that ran
the engine: its actor reads it, or a task sent to the nodes when no actor hosts it now. The calls block: the
admin API makes them in a thread.

The `ray` module is imported only here and in `ray_placement`, when called (the `modelport[ray]` extra)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

NAMESPACE = "modelport"
ASK_SECONDS = 30.0
# Ray has one connection per process, made by whichever of the supervisor and the admin API needs it first
_CONNECTING = threading.Lock()


def connect(address: str | None) -> Any:
    """The `ray` module, connected to the cluster at `address` (once per process)."""
    import ray

    with _CONNECTING:
        if not ray.is_initialized():
            ray.init(address=address, namespace=NAMESPACE, log_to_driver=False, configure_logging=False)
    return ray


def actor_name(deployment: str, ordinal: int) -> str:
    """The name of the detached actor that hosts one instance (the next supervisor finds it by it)."""
    return f"{deployment}#{ordinal}"


@dataclass(frozen=True)
class RayNode:
    """One alive node as Ray accounts for it; resources by Ray's names (CPU, GPU, memory in bytes, custom
    ones), without the `node:<ip>` resource Ray gives every node."""

    node_id: str
    address: str
    head: bool
    total: dict[str, float]
    available: dict[str, float]

    @property
    def name(self) -> str:
        """How instance records name the node: its address and the start of its id (nodes may share an IP)."""
        return f"{self.address}/{self.node_id[:8]}"


class RayView:
    """The cluster at `address` (None: RAY_ADDRESS), as the admin API shows it."""

    def __init__(self, address: str | None) -> None:
        self._address = address

    def nodes(self) -> list[RayNode]:
        """The alive nodes, head first."""
        ray = connect(self._address)
        from ray._private.state import available_resources_per_node  # a DeveloperAPI, as `ray status` uses

        available = available_resources_per_node()  # type: ignore[no-untyped-call]
        nodes = []
        for node in ray.nodes():
            if not node.get("Alive"):
                continue
            total = _declared(node.get("Resources", {}))
            free = _declared(available.get(node["NodeID"], {}))
            nodes.append(RayNode(node["NodeID"], node["NodeManagerAddress"],
                                 "node:__internal_head__" in node.get("Resources", {}), total,
                                 {name: free.get(name, 0.0) for name in total}))  # Ray leaves out what is 0
        return sorted(nodes, key=lambda node: (not node.head, node.name))

    def tail(self, deployment: str, ordinal: int, lines: int, log_name: str) -> str | None:
        """The last `lines` lines of the instance's engine log (file `log_name` on its node): from its actor,
        else, when no actor hosts it now, the most recently written such log of the alive nodes; None when
        none has one."""
        ray = connect(self._address)
        try:
            actor = ray.get_actor(actor_name(deployment, ordinal), namespace=NAMESPACE)
            return str(ray.get(actor.tail.remote(lines), timeout=ASK_SECONDS))
        except (ValueError, ray.exceptions.RayActorError):  # none, or it ended while we asked
            return self._latest_on_nodes(ray, log_name, lines)

    def _latest_on_nodes(self, ray: Any, log_name: str, lines: int) -> str | None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from modelport.instances.ray_host import read_engine_log

        reader = ray.remote(num_cpus=0)(read_engine_log)  # no CPU asked: it runs beside the engines there
        asked = [reader.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False))
                 .remote(log_name, lines) for node in ray.nodes() if node.get("Alive")]
        found = [answer for answer in ray.get(asked, timeout=ASK_SECONDS) if answer[0]]
        return max(found)[1] if found else None


def _declared(resources: dict[str, float]) -> dict[str, float]:
    return {name: float(amount) for name, amount in resources.items() if not name.startswith("node:")}
