"""The supervisor lease and the secrets shared by the gateways of one PostgreSQL store.

The lease is one row: its holder supervises managed instances until `held_until`, by the database's clock
(the gateways' own clocks may disagree). Holding it again before it lapses renews it; anyone may take it
once it has lapsed. PostgreSQL only: on SQLite one gateway supervises, as before.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from modelport.store.schema import shared_secrets, supervisor_lease

LEASE_ROW_ID = 1


def hold(connection: Connection, holder: str, seconds: float) -> bool:
    """Take or renew the lease for `seconds` from now; False if someone else holds it and it has not lapsed."""
    until = sa.func.now() + sa.func.make_interval(0, 0, 0, 0, 0, 0, seconds)
    insert = postgresql.insert(supervisor_lease).values(id=LEASE_ROW_ID, holder=holder, held_until=until)
    upsert = insert.on_conflict_do_update(
        index_elements=["id"],
        set_={"holder": insert.excluded.holder, "held_until": insert.excluded.held_until},
        where=sa.or_(supervisor_lease.c.holder == holder, supervisor_lease.c.held_until < sa.func.now()),
    ).returning(supervisor_lease.c.holder)
    return connection.execute(upsert).first() is not None


def release(connection: Connection, holder: str) -> None:
    """Let the lease lapse now if `holder` holds it, so that another gateway takes it at once."""
    connection.execute(
        supervisor_lease.update()
        .where(supervisor_lease.c.id == LEASE_ROW_ID, supervisor_lease.c.holder == holder)
        .values(held_until=sa.func.now() - sa.text("interval '1 second'"))
    )


def current(connection: Connection) -> tuple[str, datetime] | None:
    """(holder, held until) of the lease, or None if nobody ever held it."""
    row = connection.execute(sa.select(supervisor_lease.c.holder, supervisor_lease.c.held_until)).first()
    return None if row is None else (row.holder, row.held_until)


def shared_secret(connection: Connection, name: str, made: str) -> str:
    """The secret stored as `name`; `made` is stored first when there is none (the first gateway wins)."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sa.insert
    statement = insert(shared_secrets).values(name=name, value=made)
    if connection.dialect.name == "postgresql":
        statement = statement.on_conflict_do_nothing(index_elements=["name"])  # type: ignore[attr-defined]
        connection.execute(statement)
    elif connection.execute(sa.select(shared_secrets.c.name).where(shared_secrets.c.name == name)).first() is None:
        connection.execute(statement)
    return str(connection.execute(sa.select(shared_secrets.c.value).where(shared_secrets.c.name == name)).scalar_one())
