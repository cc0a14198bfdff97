"""How keys and deployments look in the admin API and the CLI: JSON-ready dicts, secrets left out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from modelport.admin.service import DeploymentStatus
from modelport.quota.periods import WINDOW_SECONDS
from modelport.quota.state import Standing
from modelport.records import ApiKey, InstanceRecord, KeyLimits, Limits, UnreadableDeployment, spec_to_dict


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
        "limits": limits_view(key.limits),
    }


def scope_limits_view(limits: Limits) -> dict[str, Any]:
    """One scope's limits as the admin API takes them (`LimitsIn`)."""
    budget = limits.budget
    return {
        "rpm": limits.rpm,
        "tpm": limits.tpm,
        "concurrency": limits.concurrency,
        "budget": None if budget is None else {"tokens": budget.tokens, "period": budget.period.value,
                                               "expires_at": _time(budget.expires_at)},
    }


def limits_view(limits: KeyLimits) -> dict[str, Any]:
    """A key's limits as the admin API takes them: its own, and `deployments` by name."""
    return {**scope_limits_view(limits.overall),
            "deployments": {name: scope_limits_view(scoped) for name, scoped in limits.deployments}}


def _unix(value: float | None) -> str | None:
    return None if value is None else datetime.fromtimestamp(value, UTC).isoformat()


def standing_view(standing: Standing) -> dict[str, Any]:
    """Where one scope's limits stand: used and remaining of each, and when they free up or renew."""
    limits = standing.limits
    view: dict[str, Any] = {"deployment": standing.deployment or None}
    if limits.rpm is not None:
        view["requests_per_minute"] = {"limit": limits.rpm, "used": standing.requests,
                                       "remaining": max(0, limits.rpm - standing.requests),
                                       "frees_at": _unix(standing.requests_free_at),
                                       "window_seconds": WINDOW_SECONDS}
    if limits.tpm is not None:
        view["tokens_per_minute"] = {"limit": limits.tpm, "used": standing.tokens,
                                     "remaining": max(0, limits.tpm - standing.tokens),
                                     "frees_at": _unix(standing.tokens_free_at), "window_seconds": WINDOW_SECONDS}
    if limits.concurrency is not None:
        view["concurrency"] = {"limit": limits.concurrency, "in_flight": standing.in_flight}
    if limits.budget is not None:
        view["budget"] = {"limit": limits.budget.tokens, "used": standing.budget_used,
                          "remaining": max(0, limits.budget.tokens - standing.budget_used),
                          "period": limits.budget.period.value, "renews_at": _unix(standing.budget_renews_at),
                          "expires_at": _time(limits.budget.expires_at)}
    return view


def key_detail_view(key: ApiKey, standings: list[Standing]) -> dict[str, Any]:
    """A key with where its limits stand now (`GET /api/keys/ID`, `keys show`)."""
    return {**key_view(key), "usage": [standing_view(standing) for standing in standings]}


def instance_view(record: InstanceRecord) -> dict[str, Any]:
    return {
        "ordinal": record.ordinal,
        "url": record.url,
        "state": record.state.value,
        "reason": record.reason,
        "pid": record.pid,
        "updated_at": _time(record.updated_at),
        "node": record.node,
        "gpus": list(record.gpus),
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
