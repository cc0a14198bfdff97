"""The store's tables, as SQLAlchemy Core metadata.

The schema itself is created and changed only by the Alembic migrations in `migrations/versions/`;
this module describes the current head so the repositories can build queries (and so autogenerate can
diff against it when writing the next migration).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

ROUTING_ROW_ID = 1


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL keeps `timestamptz`; SQLite drops tzinfo, so values are stored as naive UTC there and
    given back their UTC zone on the way out. Naive datetimes are refused on the way in.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store only takes timezone-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


metadata = sa.MetaData()

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("secret_hash", sa.String(256), nullable=False),
    sa.Column("scope", sa.String(32), nullable=False),
    sa.Column("models", sa.Text, nullable=True),  # JSON list of deployment names; NULL = every model
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Column("limits", sa.Text, nullable=True),  # records.limits_to_dict as JSON; NULL = no limits
)

deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("spec", sa.Text, nullable=False),  # records.spec_to_dict as JSON
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,  # never reuse the id of a removed deployment
)

instances = sa.Table(
    "instances",
    metadata,
    sa.Column(
        "deployment",
        sa.String(200),
        sa.ForeignKey("deployments.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("ordinal", sa.Integer, primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("pid", sa.Integer, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("node", sa.String(200), nullable=False, server_default=""),  # the node it runs on
    sa.Column("gpus", sa.Text, nullable=False, server_default=""),  # GPU UUIDs given to it, comma-separated
)

# The lease of the supervising gateway among those sharing a PostgreSQL store (one row, id 1): `holder`
# supervises managed instances until `held_until` (the database's clock), renewing it while it lives.
supervisor_lease = sa.Table(
    "supervisor_lease",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("held_until", sa.DateTime(timezone=True), nullable=False),
)

# Secrets every gateway sharing the store uses, by name (`instance-key`: what instance secrets derive from).
shared_secrets = sa.Table(
    "shared_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

routing_state = sa.Table(
    "routing_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
)

responses = sa.Table(
    "responses",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("key_id", sa.String(64), nullable=False),  # only this key may read, continue or delete it
    sa.Column("response", sa.Text, nullable=False),  # the `response` object as JSON
    sa.Column("conversation", sa.Text, nullable=False),  # the items to continue from, as JSON
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# One row per request (no prompt or completion text), kept for the usage retention; `id` is made by the
# gateway that served the request, so a batch written twice adds nothing.
usage_records = sa.Table(
    "usage_records",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("started_at", UTCDateTime, nullable=False, index=True),
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
    sa.Column("input_tokens", sa.BigInteger, nullable=False),
    sa.Column("output_tokens", sa.BigInteger, nullable=False),
    sa.Column("documents", sa.BigInteger, nullable=False),
    sa.Column("images", sa.BigInteger, nullable=False),
    sa.Column("characters", sa.BigInteger, nullable=False),
    sa.Column("audio_seconds", sa.Float, nullable=False),
)

# The same counts summed per UTC day, key, deployment and endpoint ('' for none), added to in the
# transaction that inserts the raw rows; kept for good.
usage_daily = sa.Table(
    "usage_daily",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("key_id", sa.String(64), primary_key=True),
    sa.Column("deployment", sa.String(200), primary_key=True),
    sa.Column("endpoint", sa.String(64), primary_key=True),
    sa.Column("requests", sa.BigInteger, nullable=False),
    sa.Column("errors", sa.BigInteger, nullable=False),
    sa.Column("bytes_out", sa.BigInteger, nullable=False),
    sa.Column("input_tokens", sa.BigInteger, nullable=False),
    sa.Column("output_tokens", sa.BigInteger, nullable=False),
    sa.Column("documents", sa.BigInteger, nullable=False),
    sa.Column("images", sa.BigInteger, nullable=False),
    sa.Column("characters", sa.BigInteger, nullable=False),
    sa.Column("audio_seconds", sa.Float, nullable=False),
)

# Limits (modelport.quota). The sliding windows: what a key (scope '') or one deployment through it
# (scope: its name) was admitted per second, requests and tokens (reserved, then settled to the real count);
# rows older than the 60 s window are deleted as the key is next admitted.
quota_windows = sa.Table(
    "quota_windows",
    metadata,
    sa.Column("key_id", sa.String(64), primary_key=True),
    sa.Column("scope", sa.String(200), primary_key=True),
    sa.Column("second", sa.BigInteger, primary_key=True),  # unix time, whole seconds
    sa.Column("requests", sa.BigInteger, nullable=False),
    sa.Column("tokens", sa.BigInteger, nullable=False),
)

# Concurrency slots: one row per running request of a key with a concurrency limit, deleted when it ends.
# `held_until` is a lease its gateway renews while it runs, so the slots of a gateway that died lapse.
quota_slots = sa.Table(
    "quota_slots",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("key_id", sa.String(64), nullable=False, index=True),
    sa.Column("deployment", sa.String(200), nullable=False),  # '' when the request named none
    sa.Column("held_until", sa.Float, nullable=False),
)

# The limits of keys that have none of their own (one row, id 1; none: no defaults).
quota_defaults = sa.Table(
    "quota_defaults",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("limits", sa.Text, nullable=False),  # records.limits_to_dict as JSON
)

# Token budgets: what a key (scope '') or one deployment through it has spent in the current period.
quota_budgets = sa.Table(
    "quota_budgets",
    metadata,
    sa.Column("key_id", sa.String(64), primary_key=True),
    sa.Column("scope", sa.String(200), primary_key=True),
    sa.Column("period_start", sa.Float, nullable=False),
    sa.Column("used", sa.BigInteger, nullable=False),
)
