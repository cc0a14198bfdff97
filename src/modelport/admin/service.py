"""The operations behind `/api/...` and the CLI: keys and deployments. Synchronous (it runs in a thread
from the API, directly from the CLI)."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from modelport.admin.limits import MAX_KEY_LIFETIME, MAX_KEY_MODELS, check_key_bounds, check_spec_bounds
from modelport.auth.keys import generate_key
from modelport.errors import BadRequest, Conflict, NotFound, UpstreamTimeout
from modelport.instances.inventory import overview, ray_overview
from modelport.instances.launch import check_launchable, log_file_name
from modelport.instances.log_tail import tail
from modelport.instances.node import local_node
from modelport.instances.ray_view import RayView
from modelport.instances.resources import check_resources
from modelport.quota.counter import QuotaCounter
from modelport.quota.state import Standing
from modelport.records import (
    ApiKey,
    Deployment,
    DeploymentSpec,
    InstanceRecord,
    KeyLimits,
    KeyScope,
    UnreadableDeployment,
)
from modelport.store import Store

_DURATION = re.compile(r"^\s*(\d{1,20})\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `15m`, `3600s`, `2w` → a timedelta."""
    match = _DURATION.match(text)
    if not match:
        raise BadRequest(f"Invalid duration `{text}`: use a number and a unit, like 30d, 12h, 15m.", param="expires_in")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    return timedelta(seconds=min(seconds, int(MAX_KEY_LIFETIME.total_seconds()) + 1))


@dataclass(frozen=True)
class DeploymentStatus:
    deployment: Deployment
    instances: list[InstanceRecord]


@dataclass(frozen=True)
class DeploymentsOverview:
    """Every deployment with its instances, and apart those whose stored spec cannot be read."""

    statuses: list[DeploymentStatus]
    unreadable: list[UnreadableDeployment]


class AdminService:
    def __init__(self, store: Store, logs_dir: Path | None = None, ray: RayView | None = None) -> None:
        self.store = store
        self.logs_dir = logs_dir
        self.ray = ray  # --placement ray: logs come from the instances' actors, nodes from Ray
        self.quota = QuotaCounter(store.engine)  # to show where a key's limits stand

    # -- keys
    def create_key(
        self, name: str, scope: KeyScope = KeyScope.INFERENCE, models: list[str] | None = None,
        expires_in: str | None = None, limits: KeyLimits | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key and its token. The token is returned here once and stored nowhere."""
        if not name.strip():
            raise BadRequest("A key needs a name.", param="name")
        lifetime = parse_duration(expires_in) if expires_in else None
        check_key_bounds(name, models, lifetime)
        limits = check_limits(limits or KeyLimits())
        now = datetime.now(UTC)
        new = generate_key()
        key = ApiKey(
            id=new.id,
            name=name.strip(),
            secret_hash=new.secret_hash,
            scope=scope,
            models=tuple(m.strip() for m in models if m.strip()) if models else None,
            created_at=now,
            expires_at=now + lifetime if lifetime is not None else None,
            limits=limits,
        )
        self.store.add_key(key)
        return key, new.token

    def list_keys(self) -> list[ApiKey]:
        return self.store.list_keys()

    def key(self, key_id: str) -> tuple[ApiKey, list[Standing]]:
        """A key and where each of its limits stands now."""
        key = self.store.get_key(key_id)
        if key is None:
            raise NotFound(f"No key with id `{key_id}`.")
        limited = key if not key.limits.is_empty else replace(key, limits=self.store.limit_defaults())
        return key, self.quota.standings(limited)

    def limit_defaults(self) -> KeyLimits:
        """The limits of keys without their own."""
        return self.store.limit_defaults()

    def set_limit_defaults(self, limits: KeyLimits) -> KeyLimits:
        """Replace the limits of keys without their own (gateways apply them within a second)."""
        self.store.set_limit_defaults(check_limits(limits))
        return self.store.limit_defaults()

    def set_key_limits(self, key_id: str, limits: KeyLimits) -> ApiKey:
        """Replace a key's limits (gateways apply them within their key cache's second)."""
        if not self.store.set_key_limits(key_id, check_limits(limits)):
            raise NotFound(f"No key with id `{key_id}`.")
        key = self.store.get_key(key_id)
        assert key is not None
        return key

    def revoke_key(self, key_id: str) -> ApiKey:
        if not self.store.revoke_key(key_id, datetime.now(UTC)):
            raise NotFound(f"No key with id `{key_id}`.")
        key = self.store.get_key(key_id)
        assert key is not None
        return key

    def has_admin_key(self) -> bool:
        now = datetime.now(UTC)
        return any(k.scope is KeyScope.ADMIN and k.is_active(now) for k in self.store.list_keys())

    # -- deployments
    def deploy(self, spec: DeploymentSpec) -> Deployment:
        """Add a deployment; `Conflict` when any of its names is taken."""
        return self._save(spec, replace=False)[0]

    def put(self, spec: DeploymentSpec) -> tuple[Deployment, bool]:
        """Create the deployment or replace the one of that name (idempotent); True when it was created."""
        return self._save(spec, replace=True)

    def _save(self, spec: DeploymentSpec, *, replace: bool) -> tuple[Deployment, bool]:
        spec = validate_spec(spec)
        existing = self.store.read_deployments()
        taken = {
            name: d.name for d in existing.deployments if d.name != spec.name for name in (d.name, *d.spec.aliases)
        }
        for name in (spec.name, *spec.aliases):
            if name in taken:
                raise Conflict(f"`{name}` is already a name of deployment `{taken[name]}`.",
                               param="name" if name == spec.name else "aliases")
        stored = {d.name for d in existing.deployments} | {u.name for u in existing.unreadable}
        if replace and spec.name in stored:  # replacing an unreadable one repairs it
            return self.store.update_deployment(spec), False
        return self.store.add_deployment(spec), True

    def undeploy(self, name: str) -> None:
        if not self.store.remove_deployment(name):
            raise NotFound(f"No deployment named `{name}`.")

    def deployment(self, name: str) -> DeploymentStatus:
        deployment = self.store.get_deployment(name)
        if deployment is None:
            raise NotFound(f"No deployment named `{name}`.")
        return DeploymentStatus(deployment, self.store.list_instances(name))

    def logs(self, name: str, ordinal: int = 0, lines: int = 200) -> str:
        """The last `lines` lines of a managed instance's log (kept in the data dir, or by its Ray actor on
        the node that runs it)."""
        deployment = self.deployment(name).deployment
        if deployment.spec.is_remote:
            raise BadRequest(f"`{name}` is a remote deployment: its logs live where it runs.")
        if self.ray is not None:
            return self._ray_logs(self.ray, name, ordinal, lines)
        if self.logs_dir is None:
            raise NotFound("This server keeps no instance logs.")
        path = self.logs_dir / log_file_name(name, ordinal)
        if not path.exists():
            elsewhere = [r.node for r in self.store.list_instances(name)
                         if r.ordinal == ordinal and r.node and r.node != socket.gethostname()]
            if elsewhere:
                raise NotFound(f"`{name}` instance {ordinal} runs on node {elsewhere[0]}: its log is there "
                               "(ask the gateway that placed it, with --server).")
            raise NotFound(f"No log yet for `{name}` instance {ordinal}.")
        return tail(path, lines)

    @staticmethod
    def _ray_logs(ray: RayView, name: str, ordinal: int, lines: int) -> str:
        """The log's tail from the instance's actor, or from the node that ran it last when it has none now."""
        try:
            text = ray.tail(name, ordinal, lines, log_file_name(name, ordinal))
        except TimeoutError as error:
            raise UpstreamTimeout(f"The Ray cluster did not answer for `{name}` instance {ordinal}.") from error
        if text is None:
            raise NotFound(f"No Ray actor runs `{name}` instance {ordinal} now, and no node has its log.")
        return text

    def nodes(self) -> list[dict[str, Any]]:
        """This machine (CPUs, memory, GPUs), or the Ray cluster's nodes, and every node instances are recorded
        on, with those instances."""
        wanted = {d.name: d.spec.resources for d in self.store.list_deployments()}
        if self.ray is not None:
            nodes = ray_overview(self.ray.nodes(), self.store.list_instances(), wanted)
        else:
            nodes = overview(local_node(), self.store.list_instances(), wanted)
        return msgspec.to_builtins(nodes)  # type: ignore[no-any-return]

    def deployments(self) -> DeploymentsOverview:
        """Every deployment with its instances; those whose stored spec cannot be read, apart."""
        instances: dict[str, list[InstanceRecord]] = {}
        for record in self.store.list_instances():
            instances.setdefault(record.deployment, []).append(record)
        listing = self.store.read_deployments()
        statuses = [DeploymentStatus(d, instances.get(d.name, [])) for d in listing.deployments]
        return DeploymentsOverview(statuses, listing.unreadable)


def check_limits(limits: KeyLimits) -> KeyLimits:
    """400 for per-deployment limits naming a deployment badly or too many of them."""
    if len(limits.deployments) > MAX_KEY_MODELS:
        raise BadRequest(f"Limits for more than {MAX_KEY_MODELS} deployments.", param="limits.deployments")
    for name, _ in limits.deployments:
        if not _NAME.match(name):
            raise BadRequest(f"Invalid deployment name `{name}` in the limits.", param="limits.deployments")
    return limits


def validate_spec(spec: DeploymentSpec) -> DeploymentSpec:
    """Reject specs that could never serve or exceed a bound; normalise the rest."""
    check_spec_bounds(spec)
    if not _NAME.match(spec.name):
        raise BadRequest(
            f"Invalid deployment name `{spec.name}`: letters, digits and . _ : / - only.", param="name"
        )
    for alias in spec.aliases:
        if not _NAME.match(alias) or alias == spec.name:
            raise BadRequest(
                f"Invalid alias `{alias}`: letters, digits and . _ : / - only, and not the deployment's own name.",
                param="aliases",
            )
    if len(set(spec.aliases)) != len(spec.aliases):
        raise BadRequest("`aliases` lists a name twice.", param="aliases")
    if not spec.urls and not spec.engine and not spec.command:
        raise BadRequest("A deployment needs a `url` (remote), an `engine` or a `command` to run.", param="urls")
    if spec.urls and (spec.engine or spec.command):
        raise BadRequest("Give either `url` (remote) or `engine`/`command` (run here), not both.", param="urls")
    check_launchable(spec)
    check_resources(spec)
    for url in spec.urls:
        if not url.startswith(("http://", "https://")):
            raise BadRequest(f"Invalid URL `{url}`: it must start with http:// or https://.", param="urls")
    if spec.urls and spec.replicas != 1:
        raise BadRequest(
            "`replicas` applies to engines modelport starts; for a remote deployment give each URL instead.",
            param="replicas",
        )
    if not spec.health_path.startswith("/"):
        spec = replace(spec, health_path="/" + spec.health_path)
    return spec
