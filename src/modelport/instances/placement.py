"""Where a managed instance runs. The supervisor asks a placement for an instance and runs it; today the
only placement is this machine (`LocalPlacement`); a Ray placement would start the same instances as Ray
actors on the nodes that have the resources."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Protocol

import aiohttp

from modelport.auth.instance_secrets import InstanceSecrets
from modelport.config import MAX_REQUEST_BYTES
from modelport.instances.adopt import KeepPolicy, find_adoptable
from modelport.instances.kept import KeptInstance
from modelport.instances.local import LocalInstance, StateSink
from modelport.instances.node import NodeAllocator
from modelport.records import DeploymentSpec, InstanceRecord


class ManagedInstance(Protocol):
    """One replica the supervisor keeps running until it cancels `run()`."""

    ordinal: int

    async def run(self) -> None: ...

    def detach(self) -> None:
        """Once cancelled, leave the engine running for the next supervisor to adopt."""


class Placement(Protocol):
    def instance(self, spec: DeploymentSpec, ordinal: int, sink: StateSink,
                 recorded: InstanceRecord | None = None) -> ManagedInstance:
        """A replica of `spec`; `recorded` is what the store last said of it (a previous supervisor's
        instance, which may be adopted)."""


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
        keep: KeepPolicy | None = None,
    ) -> None:
        self.allocator = allocator
        self.keep = keep  # set: instances outlive this gateway for the next supervisor, which adopts them
        self._max_body_bytes = max_body_bytes
        self._secrets = secrets
        self._logs_dir = logs_dir
        self._session = session
        self._probe_seconds = probe_seconds

    def instance(self, spec: DeploymentSpec, ordinal: int, sink: StateSink,
                 recorded: InstanceRecord | None = None) -> ManagedInstance:
        args = (spec, ordinal, self._logs_dir, self._session, sink, self._probe_seconds, self._secrets,
                self._max_body_bytes, self.allocator)
        if self.keep is None:
            return LocalInstance(*args)
        node = self.allocator.node.name if self.allocator is not None else socket.gethostname()
        adoptable = find_adoptable(recorded, node)
        instance = KeptInstance(*args, keep=self.keep, adoptable=adoptable)
        if adoptable is not None and recorded is not None:
            instance.prefer_gpus = recorded.gpus
        return instance
