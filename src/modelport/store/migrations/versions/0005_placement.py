"""Placement (issue 18): where each instance runs (`instances.node`) and the GPUs it was given
(`instances.gpus`); the supervisor lease that elects one supervising gateway among those sharing a
PostgreSQL store; the secrets those gateways share (the key instance secrets are derived from).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `instances.node` and `instances.gpus`; create `supervisor_lease` and `shared_secrets`."""
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("node", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("gpus", sa.Text, nullable=False, server_default=""))
    op.create_table(
        "supervisor_lease",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "shared_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Drop both tables and the columns."""
    op.drop_table("shared_secrets")
    op.drop_table("supervisor_lease")
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("gpus")
        batch.drop_column("node")
