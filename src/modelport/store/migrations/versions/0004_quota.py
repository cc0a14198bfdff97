"""Limits per key (issue 16): the keys' `limits`, the per-second counts of the sliding windows, the
concurrency slots, the token budgets' spending and the defaults of keys without limits of their own.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `api_keys.limits`; create `quota_windows`, `quota_slots` (indexed by key), `quota_defaults` and
    `quota_budgets`."""
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("limits", sa.Text, nullable=True))
    op.create_table(
        "quota_windows",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("second", sa.BigInteger, primary_key=True),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("tokens", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "quota_slots",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("deployment", sa.String(200), nullable=False),
        sa.Column("held_until", sa.Float, nullable=False),
    )
    op.create_index("ix_quota_slots_key_id", "quota_slots", ["key_id"])
    op.create_table(
        "quota_defaults",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("limits", sa.Text, nullable=False),
    )
    op.create_table(
        "quota_budgets",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("period_start", sa.Float, nullable=False),
        sa.Column("used", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Drop both tables and the column."""
    op.drop_table("quota_budgets")
    op.drop_table("quota_defaults")
    op.drop_index("ix_quota_slots_key_id", table_name="quota_slots")
    op.drop_table("quota_slots")
    op.drop_table("quota_windows")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("limits")
