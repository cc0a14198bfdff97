"""Small builders of records for the store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from modelport.records import ApiKey, DeploymentSpec, InstanceRecord, InstanceState, KeyScope

BASE_TIME = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """A UTC time `seconds` after BASE_TIME."""
    return BASE_TIME + timedelta(seconds=seconds)


def make_key(key_id: str = "k1", **changes: object) -> ApiKey:
    """A key with sensible defaults, overridden by `changes`."""
    fields: dict[str, object] = {
        "id": key_id,
        "name": f"key {key_id}",
        "secret_hash": f"sha256:{key_id}",
        "scope": KeyScope.INFERENCE,
        "models": None,
        "created_at": BASE_TIME,
    }
    fields.update(changes)
    return ApiKey(**fields)  # type: ignore[arg-type]


def make_spec(name: str = "chat", **changes: object) -> DeploymentSpec:
    """A remote deployment spec, overridden by `changes`."""
    fields: dict[str, object] = {"name": name, "urls": ("http://127.0.0.1:9000/v1",)}
    fields.update(changes)
    return DeploymentSpec(**fields)  # type: ignore[arg-type]


def make_instance(deployment: str = "chat", ordinal: int = 0, **changes: object) -> InstanceRecord:
    """An instance record, overridden by `changes`."""
    fields: dict[str, object] = {
        "deployment": deployment,
        "ordinal": ordinal,
        "url": f"http://127.0.0.1:{9100 + ordinal}/v1",
        "state": InstanceState.STARTING,
        "reason": "",
        "updated_at": BASE_TIME,
        "pid": None,
    }
    fields.update(changes)
    return InstanceRecord(**fields)  # type: ignore[arg-type]
