"""One supervisor among the gateways sharing a PostgreSQL store.

Each gateway tries to hold the supervisor lease (a row with a deadline, by the database's clock); the one
that holds it supervises the managed instances and renews it every second; the others only route. If the
leader dies, its lease lapses after `LEASE_SECONDS` and the next gateway that tries takes it and adopts the
instances the leader left running (their shims wait for it, `adopt.py`). A leader that cannot renew in time
(the store unreachable) stops supervising before its lease lapses, leaving the engines running, so that
two gateways never supervise at once. On SQLite one gateway supervises, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from pathlib import Path

from modelport.auth.instance_secrets import InstanceSecrets
from modelport.instances.adopt import KeepPolicy
from modelport.instances.supervisor import Supervisor
from modelport.store import Store

log = logging.getLogger(__name__)

LEASE_SECONDS = 6.0  # a dead leader's instances wait at most this long (plus a renewal) for the next one
RENEW_SECONDS = 1.0
INSTANCE_KEY = "instance-key"


def instance_secrets(store: Store, key_file: Path) -> InstanceSecrets:
    """The key instance secrets derive from: the store's, shared by every gateway, on PostgreSQL (any of them
    may then supervise, and every one routes to the instances); the data dir's on SQLite."""
    if store.shared:
        return InstanceSecrets(bytes.fromhex(store.shared_secret(INSTANCE_KEY, secrets.token_hex(32))))
    return InstanceSecrets.load_or_create(key_file)


def keep_policy(store: Store, data_dir: Path) -> KeepPolicy | None:
    """On PostgreSQL, instances outlive their gateway for the next supervisor (keeper files in the data dir)."""
    return KeepPolicy(data_dir / "run") if store.shared else None


class Leadership:
    """Holds the lease for this gateway and supervises while it does."""

    def __init__(self, store: Store, supervisor: Supervisor, lease_seconds: float = LEASE_SECONDS,
                 renew_seconds: float = RENEW_SECONDS) -> None:
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._store = store
        self._supervisor = supervisor
        self._lease_seconds = lease_seconds
        self._renew_seconds = renew_seconds
        self.leading = False
        supervisor.active = False  # until the lease is ours

    async def run(self, poll_seconds: float) -> None:
        """Try for the lease, supervise while holding it, step down when it cannot be renewed in time."""
        supervising: asyncio.Task[None] | None = None
        renewed = 0.0
        try:
            while True:
                held = await self._hold()
                now = time.monotonic()
                if held:
                    renewed = now
                    if not self.leading:
                        log.info("this gateway (%s) supervises the managed instances now", self.holder)
                        self.leading = self._supervisor.active = True
                        supervising = asyncio.create_task(self._supervisor.run(poll_seconds), name="supervisor")
                elif self.leading and now - renewed > self._lease_seconds - 2 * self._renew_seconds:
                    log.warning("lost the supervisor lease; leaving the instances to the next supervisor")
                    await self._step_down(supervising)
                    supervising = None
                await asyncio.sleep(self._renew_seconds)
        finally:
            if supervising is not None:
                supervising.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await supervising

    async def _hold(self) -> bool:
        try:
            return await asyncio.to_thread(self._store.hold_supervisor_lease, self.holder, self._lease_seconds)
        except Exception:  # the store unreachable: not renewed; the loop steps down in time
            log.exception("renewing the supervisor lease failed")
            return False

    async def _step_down(self, supervising: asyncio.Task[None] | None) -> None:
        self.leading = False
        if supervising is not None:
            supervising.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervising
        await self._supervisor.detach()

    async def hand_over(self) -> None:
        """On shutdown: leave the instances running and let the lease lapse now, for another gateway."""
        if self.leading:
            await self._step_down(None)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._store.release_supervisor_lease, self.holder)
