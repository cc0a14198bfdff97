"""`Store`: the synchronous, thread-safe facade over the repositories.

Each method runs in one short transaction on a pooled connection, so one `Store` may be shared by many
threads (the async gateway calls it through `asyncio.to_thread`), and several `Store` objects, in one
process or many, may use the same database.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelport.records import (
    ApiKey,
    Deployment,
    DeploymentListing,
    DeploymentSpec,
    InstanceRecord,
    KeyLimits,
    UnreadableDeployment,
)
from modelport.store import deployments, instances, keys, lease, revision
from modelport.store.database import (
    create_engine,
    migrate,
    normalise_url,
    read_transaction,
    write_transaction,
)
from modelport.store.responses import ResponseStore
from modelport.store.usage import UsageStore

log = logging.getLogger(__name__)


class Store:
    """Keys, deployments and instances in SQLite (default) or PostgreSQL.

    Open it with `Store.open(url)`, which migrates the schema to the newest revision.
    `url` is the normalised URL the store was opened with (password included).
    """

    url: str

    def __init__(self, engine: Engine) -> None:
        """Wrap an engine whose database is already migrated; prefer `Store.open`."""
        self._engine = engine
        self.url = engine.url.render_as_string(hide_password=False)
        self._reported: set[UnreadableDeployment] = set()
        self.responses = ResponseStore(engine)  # stored Responses API answers (store/responses.py)
        self.usage = UsageStore(engine)  # the usage ledger (store/usage.py)

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect to `url` (creating a SQLite file's folder if needed) and migrate to head."""
        engine = create_engine(normalise_url(url))
        try:
            migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    def close(self) -> None:
        """Close every pooled connection. The store must not be used afterwards."""
        self._engine.dispose()

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for diagnostics and tests)."""
        return self._engine

    # API keys

    def add_key(self, key: ApiKey) -> None:
        """Store a new key; `errors.Conflict` if its id exists."""
        with write_transaction(self._engine) as connection:
            keys.insert(connection, key)

    def get_key(self, key_id: str) -> ApiKey | None:
        """The key with this id, or None."""
        with read_transaction(self._engine) as connection:
            return keys.select(connection, key_id)

    def list_keys(self) -> list[ApiKey]:
        """Every key, ordered by created_at then id."""
        with read_transaction(self._engine) as connection:
            return keys.select_all(connection)

    def set_key_limits(self, key_id: str, limits: KeyLimits) -> bool:
        """Replace a key's limits; False if unknown. Gateways apply them within their key cache's ttl."""
        with write_transaction(self._engine) as connection:
            return keys.set_limits(connection, key_id, limits)

    def limit_defaults(self) -> KeyLimits:
        """The limits of keys without their own."""
        with read_transaction(self._engine) as connection:
            return keys.select_defaults(connection)

    def set_limit_defaults(self, limits: KeyLimits) -> None:
        """Replace the limits of keys without their own (gateways apply them within a second)."""
        with write_transaction(self._engine) as connection:
            keys.set_defaults(connection, limits)

    def revoke_key(self, key_id: str, at: datetime) -> bool:
        """Revoke a key at `at`; False if unknown. Revoking again keeps the first `revoked_at`."""
        with write_transaction(self._engine) as connection:
            return keys.revoke(connection, key_id, at)

    # Deployments

    def add_deployment(self, spec: DeploymentSpec) -> Deployment:
        """Store a new deployment; `errors.Conflict` if its name exists."""
        with write_transaction(self._engine) as connection:
            added = deployments.insert(connection, spec, _now())
            revision.bump(connection)
            return added

    def update_deployment(self, spec: DeploymentSpec) -> Deployment:
        """Replace the spec of deployment `spec.name` and bump updated_at; `errors.NotFound` if absent."""
        with write_transaction(self._engine) as connection:
            updated = deployments.update(connection, spec, _now())
            revision.bump(connection)
            return updated

    def get_deployment(self, name: str) -> Deployment | None:
        """The deployment with this name, or None; `deployments.UnreadableSpec` if its row does not decode."""
        with read_transaction(self._engine) as connection:
            return deployments.select(connection, name)

    def list_deployments(self) -> list[Deployment]:
        """Every deployment that can be read, ordered by name (an unreadable one is logged and skipped)."""
        return self.read_deployments().deployments

    def read_deployments(self) -> DeploymentListing:
        """Every deployment, ordered by name: those that can be read and, apart, those that cannot (each
        logged as a warning, once per problem for this `Store`)."""
        with read_transaction(self._engine) as connection:
            listing = deployments.select_all(connection)
        for unreadable in listing.unreadable:
            if unreadable not in self._reported:
                self._reported.add(unreadable)
                log.warning("Skipping deployment `%s`: its stored spec cannot be read (%s); replace or remove "
                            "it to repair the store.", unreadable.name, unreadable.error)
        return listing

    def remove_deployment(self, name: str) -> bool:
        """Remove a deployment and its instances; False if there was none."""
        with write_transaction(self._engine) as connection:
            removed = deployments.delete(connection, name)
            if removed:
                revision.bump(connection)
            return removed

    def routing_revision(self) -> int:
        """A counter that increases with every change to deployments or instances."""
        with read_transaction(self._engine) as connection:
            return revision.current(connection)

    # Instances

    def set_instance(self, record: InstanceRecord) -> None:
        """Insert or replace an instance record; ignored if its deployment no longer exists."""
        try:
            with write_transaction(self._engine) as connection:
                if not deployments.exists(connection, record.deployment):
                    return
                instances.upsert(connection, record)
                revision.bump(connection)
        except sa.exc.IntegrityError:
            # The deployment was removed between our check and the insert (PostgreSQL, read committed).
            if self.get_deployment(record.deployment) is not None:
                raise

    def remove_instances(self, deployment: str, keep: Iterable[int] = ()) -> None:
        """Delete the deployment's instances whose ordinal is not in `keep`."""
        with write_transaction(self._engine) as connection:
            if instances.delete_except(connection, deployment, keep):
                revision.bump(connection)

    def list_instances(self, deployment: str | None = None) -> list[InstanceRecord]:
        """Instance records ordered by deployment then ordinal, optionally of one deployment only."""
        with read_transaction(self._engine) as connection:
            return instances.select_all(connection, deployment)

    # One supervisor among the gateways of a PostgreSQL store (store/lease.py)

    @property
    def shared(self) -> bool:
        """Whether several gateways may share this store (PostgreSQL): they then elect one supervisor."""
        return self._engine.dialect.name == "postgresql"

    def hold_supervisor_lease(self, holder: str, seconds: float) -> bool:
        """Take or renew the supervisor lease for `seconds`; False while another gateway holds it."""
        with write_transaction(self._engine) as connection:
            return lease.hold(connection, holder, seconds)

    def release_supervisor_lease(self, holder: str) -> None:
        """Let the lease lapse now if `holder` holds it."""
        with write_transaction(self._engine) as connection:
            lease.release(connection, holder)

    def supervisor_lease(self) -> tuple[str, datetime] | None:
        """(holder, held until) of the supervisor lease, or None."""
        with read_transaction(self._engine) as connection:
            return lease.current(connection)

    def shared_secret(self, name: str, made: str) -> str:
        """The secret every gateway of this store uses as `name`; `made` becomes it if there is none yet."""
        with write_transaction(self._engine) as connection:
            return lease.shared_secret(connection, name, made)


def _now() -> datetime:
    return datetime.now(UTC)
