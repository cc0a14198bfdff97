"""The `instances` table: the last recorded state of each instance, keyed by (deployment, ordinal)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

from modelport.records import InstanceRecord, InstanceState
from modelport.store.schema import instances


def upsert(connection: Connection, record: InstanceRecord) -> None:
    """Insert the record, or overwrite the one with the same (deployment, ordinal)."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    values = {
        "deployment": record.deployment,
        "ordinal": record.ordinal,
        "url": record.url,
        "state": InstanceState(record.state).value,
        "reason": record.reason,
        "pid": record.pid,
        "updated_at": record.updated_at,
        "node": record.node,
        "gpus": ",".join(record.gpus),
    }
    statement = insert(instances).values(**values)
    kept = ("url", "state", "reason", "pid", "updated_at", "node", "gpus")
    changes = {name: statement.excluded[name] for name in kept}
    connection.execute(
        statement.on_conflict_do_update(index_elements=["deployment", "ordinal"], set_=changes)
    )


def delete_except(connection: Connection, deployment: str, keep: Iterable[int]) -> int:
    """Delete the deployment's instances whose ordinal is not in `keep`; how many went."""
    query = instances.delete().where(instances.c.deployment == deployment)
    kept = sorted(set(keep))
    if kept:
        query = query.where(instances.c.ordinal.not_in(kept))
    return connection.execute(query).rowcount


def select_all(connection: Connection, deployment: str | None = None) -> list[InstanceRecord]:
    """Instances by deployment then ordinal, optionally only one deployment's."""
    query = instances.select().order_by(instances.c.deployment, instances.c.ordinal)
    if deployment is not None:
        query = query.where(instances.c.deployment == deployment)
    return [_from_row(row) for row in connection.execute(query)]


def _from_row(row: Row[Any]) -> InstanceRecord:
    return InstanceRecord(
        deployment=row.deployment,
        ordinal=row.ordinal,
        url=row.url,
        state=InstanceState(row.state),
        reason=row.reason,
        updated_at=row.updated_at,
        pid=row.pid,
        node=row.node,
        gpus=tuple(row.gpus.split(",")) if row.gpus else (),
    )
