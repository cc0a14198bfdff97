"""The routing revision: one counter row that every routing change bumps in its own transaction.

Gateways poll it (one primary-key SELECT) and reload deployments and instances when it moves.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelport.store.schema import ROUTING_ROW_ID, routing_state


def bump(connection: Connection) -> None:
    """Increase the revision by one, inside the caller's write transaction."""
    connection.execute(
        routing_state.update()
        .where(routing_state.c.id == ROUTING_ROW_ID)
        .values(revision=routing_state.c.revision + 1)
    )


def current(connection: Connection) -> int:
    """The current revision."""
    query = sa.select(routing_state.c.revision).where(routing_state.c.id == ROUTING_ROW_ID)
    return int(connection.execute(query).scalar_one())
