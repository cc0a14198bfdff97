"""Where a managed instance runs. The supervisor asks a placement for an instance and runs it; today the
only placement is this machine (`LocalPlacement`); a Ray placement would start the same instances as Ray
actors on the nodes that have the resources."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import aiohttp

from modelport.auth.instance_secrets import InstanceSecrets
from modelport.config import MAX_REQUEST_BYTES
from modelport.instances.local import LocalInstance, StateSink
from modelport.instances.node import NodeAllocator
from modelport.records import DeploymentSpec


class ManagedInstance(Protocol):
    """One replica the supervisor keeps running until it cancels `run()`."""

    ordinal: int

    async def run(self) -> None: ...


class Placement(Protocol):
    def instance(self, spec: DeploymentSpec, ordinal: int, sink: StateSink) -> ManagedInstance: ...


class LocalPlacement:
    """Instances as processes on this machine, logs in `logs_dir`; those that ask for resources get them
    from `allocator` (this machine's CPUs, memory and GPUs), or wait `pending` with the reason."""

    def __init__(
        self,
        logs_dir: Path,
        session: aiohttp.ClientSession,
        probe_seconds: float,
        secrets: InstanceSecrets,
        max_body_bytes: int = MAX_REQUEST_BYTES,
        allocator: NodeAllocator | None = None,
    ) -> None:
        self.allocator = allocator
        self._max_body_bytes = max_body_bytes
        self._secrets = secrets
        self._logs_dir = logs_dir
        self._session = session
        self._probe_seconds = probe_seconds

    def instance(self, spec: DeploymentSpec, ordinal: int, sink: StateSink) -> ManagedInstance:
        return LocalInstance(
            spec, ordinal, self._logs_dir, self._session, sink, self._probe_seconds, self._secrets,
            self._max_body_bytes, self.allocator,
        )
