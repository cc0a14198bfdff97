"""The `deployments` table: one row per deployment, its spec kept as JSON beside a unique name.

A spec is written only if it reads back. A row that does not decode anyway (an older or broken version
wrote it, or a person did) is listed apart by `select_all`, so one bad row never stops the gateway;
`select` of that name raises `UnreadableSpec`; `update` and `delete` repair it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from modelport import errors
from modelport.records import (
    Deployment,
    DeploymentListing,
    DeploymentSpec,
    UnreadableDeployment,
    spec_from_dict,
    spec_to_dict,
)
from modelport.store.schema import deployments


class UnreadableSpec(errors.ModelportError):
    """The stored spec of a deployment does not decode: the store needs repair, not the request (500)."""

    code = "unreadable_deployment"

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(
            f"The stored spec of deployment `{name}` cannot be read ({reason}); replace or remove the "
            "deployment to repair the store."
        )
        self.reason = reason


def insert(connection: Connection, spec: DeploymentSpec, now: datetime) -> Deployment:
    """Store a new deployment; `errors.Conflict` if its name is taken."""
    values = {"name": spec.name, "spec": _encode(spec), "created_at": now, "updated_at": now}
    try:
        result = connection.execute(deployments.insert().values(**values))
    except sa.exc.IntegrityError as exc:
        raise errors.Conflict(f"a deployment named {spec.name!r} already exists", param="name") from exc
    primary_key = result.inserted_primary_key
    assert primary_key is not None  # a single-row insert always has one
    deployment_id = int(primary_key[0])
    return Deployment(id=deployment_id, spec=spec, created_at=now, updated_at=now)


def update(connection: Connection, spec: DeploymentSpec, now: datetime) -> Deployment:
    """Replace the spec of the deployment named `spec.name`; `errors.NotFound` if there is none."""
    connection.execute(
        deployments.update().where(deployments.c.name == spec.name).values(spec=_encode(spec), updated_at=now)
    )
    updated = select(connection, spec.name)
    if updated is None:
        raise errors.NotFound(f"no deployment named {spec.name!r}", param="name")
    return updated


def select(connection: Connection, name: str) -> Deployment | None:
    """The deployment with this name, or None."""
    row = connection.execute(deployments.select().where(deployments.c.name == name)).first()
    return None if row is None else _from_row(row)


def select_all(connection: Connection) -> DeploymentListing:
    """Every deployment, by name; the rows that do not decode are listed apart."""
    listing = DeploymentListing([], [])
    for row in connection.execute(deployments.select().order_by(deployments.c.name)):
        try:
            listing.deployments.append(_from_row(row))
        except UnreadableSpec as exc:
            listing.unreadable.append(UnreadableDeployment(row.name, exc.reason))
    return listing


def exists(connection: Connection, name: str) -> bool:
    """Whether a deployment with this name exists."""
    query = sa.select(deployments.c.id).where(deployments.c.name == name)
    return connection.execute(query).first() is not None


def delete(connection: Connection, name: str) -> bool:
    """Remove a deployment (its instances go with it, by cascade); False if there was none."""
    result = connection.execute(deployments.delete().where(deployments.c.name == name))
    return result.rowcount > 0


def _encode(spec: DeploymentSpec) -> str:
    """The spec as JSON; `errors.BadRequest` if it would not read back (JSON has no NaN or infinity:
    orjson writes them as null)."""
    text = orjson.dumps(spec_to_dict(spec)).decode()
    try:
        _decode(spec.name, text)
    except UnreadableSpec as exc:
        raise errors.BadRequest(f"Deployment `{spec.name}` cannot be stored: {exc.reason}.") from None
    return text


def _decode(name: str, text: str) -> DeploymentSpec:
    """The spec stored as `text` for deployment `name`; `UnreadableSpec` if it does not decode."""
    try:
        data = orjson.loads(text)
        if not isinstance(data, dict):
            raise TypeError("the spec is not a JSON object")
        spec = spec_from_dict(data)
    except (ValueError, TypeError, msgspec.MsgspecError) as exc:
        raise UnreadableSpec(name, str(exc)) from None
    if spec.name != name:
        raise UnreadableSpec(name, f"it names `{spec.name}` instead")
    return spec


def _from_row(row: Row[Any]) -> Deployment:
    return Deployment(
        id=row.id,
        spec=_decode(row.name, row.spec),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
