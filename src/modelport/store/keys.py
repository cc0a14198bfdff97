"""The `api_keys` table: stored keys (id, secret hash, scope, model allow-list, lifetimes, limits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from modelport import errors
from modelport.records import ApiKey, KeyLimits, KeyScope, limits_from_dict, limits_to_dict
from modelport.store.schema import api_keys, quota_defaults

DEFAULTS_ROW = 1


def insert(connection: Connection, key: ApiKey) -> None:
    """Store a new key; `errors.Conflict` if its id is taken."""
    try:
        connection.execute(api_keys.insert().values(**_to_row(key)))
    except sa.exc.IntegrityError as exc:
        raise errors.Conflict(f"an API key with id {key.id!r} already exists", param="id") from exc


def select(connection: Connection, key_id: str) -> ApiKey | None:
    """The key with this id, or None."""
    row = connection.execute(api_keys.select().where(api_keys.c.id == key_id)).first()
    return None if row is None else _from_row(row)


def select_all(connection: Connection) -> list[ApiKey]:
    """Every key, oldest first (ties broken by id)."""
    query = api_keys.select().order_by(api_keys.c.created_at, api_keys.c.id)
    return [_from_row(row) for row in connection.execute(query)]


def set_limits(connection: Connection, key_id: str, limits: KeyLimits) -> bool:
    """Replace a key's limits; False if there is no such key."""
    result = connection.execute(api_keys.update().where(api_keys.c.id == key_id).values(limits=_limits(limits)))
    return bool(result.rowcount)


def select_defaults(connection: Connection) -> KeyLimits:
    """The limits of keys without their own (empty when none are set)."""
    row = connection.execute(sa.select(quota_defaults.c.limits).where(quota_defaults.c.id == DEFAULTS_ROW)).first()
    return KeyLimits() if row is None else limits_from_dict(orjson.loads(row.limits))


def set_defaults(connection: Connection, limits: KeyLimits) -> None:
    """Replace the limits of keys without their own."""
    connection.execute(quota_defaults.delete().where(quota_defaults.c.id == DEFAULTS_ROW))
    if not limits.is_empty:
        connection.execute(quota_defaults.insert().values(id=DEFAULTS_ROW, limits=_limits(limits)))


def revoke(connection: Connection, key_id: str, at: datetime) -> bool:
    """Mark a key revoked at `at` unless it already is; False if there is no such key."""
    connection.execute(
        api_keys.update()
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    exists = connection.execute(sa.select(api_keys.c.id).where(api_keys.c.id == key_id)).first()
    return exists is not None


def _to_row(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "secret_hash": key.secret_hash,
        "scope": KeyScope(key.scope).value,
        "models": None if key.models is None else orjson.dumps(list(key.models)).decode(),
        "created_at": key.created_at,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
        "limits": _limits(key.limits),
    }


def _limits(limits: KeyLimits) -> str | None:
    return None if limits.is_empty else orjson.dumps(limits_to_dict(limits)).decode()


def _from_row(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        secret_hash=row.secret_hash,
        scope=KeyScope(row.scope),
        models=None if row.models is None else tuple(orjson.loads(row.models)),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        limits=KeyLimits() if row.limits is None else limits_from_dict(orjson.loads(row.limits)),
    )
