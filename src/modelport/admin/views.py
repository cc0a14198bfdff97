"""How keys and deployments look in the admin API and the CLI: JSON-ready dicts, secrets left out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from modelport.admin.service import DeploymentStatus
from modelport.records import ApiKey, InstanceRecord, UnreadableDeployment, spec_to_dict


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def key_view(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "scope": key.scope.value,
        "models": list(key.models) if key.models is not None else None,
        "created_at": _time(key.created_at),
        "expires_at": _time(key.expires_at),
        "revoked_at": _time(key.revoked_at),
    }


def instance_view(record: InstanceRecord) -> dict[str, Any]:
    return {
        "ordinal": record.ordinal,
        "url": record.url,
        "state": record.state.value,
        "reason": record.reason,
        "pid": record.pid,
        "updated_at": _time(record.updated_at),
    }


def deployment_view(status: DeploymentStatus) -> dict[str, Any]:
    spec = spec_to_dict(status.deployment.spec)
    spec["upstream_key"] = "***" if spec.get("upstream_key") else None  # never shown back
    return {
        **spec,
        "created_at": _time(status.deployment.created_at),
        "updated_at": _time(status.deployment.updated_at),
        "instances": [instance_view(i) for i in status.instances],
    }


def unreadable_view(unreadable: UnreadableDeployment) -> dict[str, Any]:
    return {"name": unreadable.name, "error": unreadable.error}
