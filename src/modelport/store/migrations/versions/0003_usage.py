"""The usage ledger: one row per request (`usage_records`) and daily sums (`usage_daily`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_COUNTS = ("input_tokens", "output_tokens", "documents", "images", "characters")


def upgrade() -> None:
    """Create both tables and the raw rows' index on `started_at` (reports by hour, pruning)."""
    op.create_table(
        "usage_records",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("first_byte_ms", sa.Float, nullable=True),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("deployment", sa.String(200), nullable=True),
        sa.Column("instance", sa.String(220), nullable=True),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("streamed", sa.Boolean, nullable=False),
        sa.Column("client_gone", sa.Boolean, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("bytes_out", sa.BigInteger, nullable=False),
        *(sa.Column(name, sa.BigInteger, nullable=False) for name in _COUNTS),
        sa.Column("audio_seconds", sa.Float, nullable=False),
    )
    op.create_index("ix_usage_records_started_at", "usage_records", ["started_at"])
    op.create_table(
        "usage_daily",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("deployment", sa.String(200), primary_key=True),
        sa.Column("endpoint", sa.String(64), primary_key=True),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("errors", sa.BigInteger, nullable=False),
        sa.Column("bytes_out", sa.BigInteger, nullable=False),
        *(sa.Column(name, sa.BigInteger, nullable=False) for name in _COUNTS),
        sa.Column("audio_seconds", sa.Float, nullable=False),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("usage_daily")
    op.drop_index("ix_usage_records_started_at", table_name="usage_records")
    op.drop_table("usage_records")
