"""The `deployments` table: one row per deployment, its spec kept as JSON beside a unique name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from modelport import errors
from modelport.records import Deployment, DeploymentSpec, spec_from_dict, spec_to_dict
from modelport.store.schema import deployments


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


def select_all(connection: Connection) -> list[Deployment]:
    """Every deployment, by name."""
    query = deployments.select().order_by(deployments.c.name)
    return [_from_row(row) for row in connection.execute(query)]


def exists(connection: Connection, name: str) -> bool:
    """Whether a deployment with this name exists."""
    query = sa.select(deployments.c.id).where(deployments.c.name == name)
    return connection.execute(query).first() is not None


def delete(connection: Connection, name: str) -> bool:
    """Remove a deployment (its instances go with it, by cascade); False if there was none."""
    result = connection.execute(deployments.delete().where(deployments.c.name == name))
    return result.rowcount > 0


def _encode(spec: DeploymentSpec) -> str:
    return orjson.dumps(spec_to_dict(spec)).decode()


def _from_row(row: Row[Any]) -> Deployment:
    return Deployment(
        id=row.id,
        spec=spec_from_dict(orjson.loads(row.spec)),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
