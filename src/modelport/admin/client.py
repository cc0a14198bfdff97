"""The CLI's view of administration: the same operations on a data dir directly or on a running server."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import httpx

from modelport.admin.service import AdminService
from modelport.admin.views import deployment_view, key_detail_view, key_view, limits_view, unreadable_view
from modelport.errors import ModelportError
from modelport.records import DeploymentSpec, KeyLimits, KeyScope, spec_to_dict
from modelport.store import Store


class AdminClient(Protocol):
    def create_key(
        self, name: str, scope: KeyScope, models: list[str] | None, expires_in: str | None,
        limits: KeyLimits | None = None,
    ) -> dict[str, Any]: ...
    def list_keys(self) -> list[dict[str, Any]]: ...
    def get_key(self, key_id: str) -> dict[str, Any]: ...  # as GET /api/keys/ID answers, usage included
    def set_key_limits(self, key_id: str, limits: KeyLimits) -> dict[str, Any]: ...
    def limit_defaults(self) -> dict[str, Any]: ...  # as GET /api/limits/defaults answers
    def set_limit_defaults(self, limits: KeyLimits) -> dict[str, Any]: ...
    def revoke_key(self, key_id: str) -> dict[str, Any]: ...
    def deploy(self, spec: DeploymentSpec, replace: bool = False) -> dict[str, Any]: ...
    def undeploy(self, name: str) -> None: ...
    def deployments(self) -> dict[str, Any]: ...  # as GET /api/deployments answers: data, unreadable
    def logs(self, name: str, ordinal: int, lines: int) -> str: ...
    def nodes(self) -> list[dict[str, Any]]: ...  # as GET /api/nodes answers: its `data`
    def close(self) -> None: ...


class LocalAdmin:
    """Works on the store itself; a running server picks the changes up within a second."""

    def __init__(self, store_url: str, logs_dir: Path | None = None) -> None:
        self._store = Store.open(store_url)
        self.service = AdminService(self._store, logs_dir)

    def create_key(
        self, name: str, scope: KeyScope, models: list[str] | None, expires_in: str | None,
        limits: KeyLimits | None = None,
    ) -> dict[str, Any]:
        key, token = self.service.create_key(name, scope, models, expires_in, limits)
        return {**key_view(key), "key": token}

    def list_keys(self) -> list[dict[str, Any]]:
        return [key_view(k) for k in self.service.list_keys()]

    def get_key(self, key_id: str) -> dict[str, Any]:
        return key_detail_view(*self.service.key(key_id))

    def set_key_limits(self, key_id: str, limits: KeyLimits) -> dict[str, Any]:
        return key_view(self.service.set_key_limits(key_id, limits))

    def limit_defaults(self) -> dict[str, Any]:
        return limits_view(self.service.limit_defaults())

    def set_limit_defaults(self, limits: KeyLimits) -> dict[str, Any]:
        return limits_view(self.service.set_limit_defaults(limits))

    def revoke_key(self, key_id: str) -> dict[str, Any]:
        return key_view(self.service.revoke_key(key_id))

    def deploy(self, spec: DeploymentSpec, replace: bool = False) -> dict[str, Any]:
        if replace:
            self.service.put(spec)
        else:
            self.service.deploy(spec)
        return deployment_view(self.service.deployment(spec.name))

    def undeploy(self, name: str) -> None:
        self.service.undeploy(name)

    def deployments(self) -> dict[str, Any]:
        overview = self.service.deployments()
        return {
            "data": [deployment_view(s) for s in overview.statuses],
            "unreadable": [unreadable_view(u) for u in overview.unreadable],
        }

    def logs(self, name: str, ordinal: int, lines: int) -> str:
        return self.service.logs(name, ordinal, lines)

    def nodes(self) -> list[dict[str, Any]]:
        return self.service.nodes()

    def close(self) -> None:
        self._store.close()


class RemoteError(ModelportError):
    """An error answered by a running server's admin API."""


class RemoteAdmin:
    """Talks to a running server's `/api` with an admin key."""

    def __init__(self, server: str, key: str) -> None:
        self._http = httpx.Client(base_url=server.rstrip("/"), headers={"authorization": f"Bearer {key}"}, timeout=30)

    def _call(self, method: str, path: str, json: Any = None, params: Any = None, text: bool = False) -> Any:
        try:
            response = self._http.request(method, path, json=json, params=params)
        except httpx.HTTPError as exc:
            raise RemoteError(f"Cannot reach the server: {exc}") from None
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except Exception:
                message = response.text
            error = RemoteError(message)
            error.status = response.status_code
            raise error
        return response.text if text else response.json()

    def create_key(
        self, name: str, scope: KeyScope, models: list[str] | None, expires_in: str | None,
        limits: KeyLimits | None = None,
    ) -> dict[str, Any]:
        body = {"name": name, "scope": scope.value, "models": models, "expires_in": expires_in,
                "limits": None if limits is None else limits_view(limits)}
        return self._call("POST", "/api/keys", body)  # type: ignore[no-any-return]

    def list_keys(self) -> list[dict[str, Any]]:
        return self._call("GET", "/api/keys")["data"]  # type: ignore[no-any-return]

    def get_key(self, key_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/keys/{key_id}")  # type: ignore[no-any-return]

    def set_key_limits(self, key_id: str, limits: KeyLimits) -> dict[str, Any]:
        return self._call("PUT", f"/api/keys/{key_id}/limits", limits_view(limits))  # type: ignore[no-any-return]

    def limit_defaults(self) -> dict[str, Any]:
        return self._call("GET", "/api/limits/defaults")  # type: ignore[no-any-return]

    def set_limit_defaults(self, limits: KeyLimits) -> dict[str, Any]:
        return self._call("PUT", "/api/limits/defaults", limits_view(limits))  # type: ignore[no-any-return]

    def revoke_key(self, key_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/api/keys/{key_id}")  # type: ignore[no-any-return]

    def deploy(self, spec: DeploymentSpec, replace: bool = False) -> dict[str, Any]:
        if replace:
            return self._call("PUT", f"/api/deployments/{spec.name}", spec_to_dict(spec))  # type: ignore[no-any-return]
        return self._call("POST", "/api/deployments", spec_to_dict(spec))  # type: ignore[no-any-return]

    def undeploy(self, name: str) -> None:
        self._call("DELETE", f"/api/deployments/{name}")

    def deployments(self) -> dict[str, Any]:
        return self._call("GET", "/api/deployments")  # type: ignore[no-any-return]

    def logs(self, name: str, ordinal: int, lines: int) -> str:
        return self._call("GET", f"/api/logs/{name}", params={"ordinal": ordinal, "lines": lines}, text=True)  # type: ignore[no-any-return]

    def nodes(self) -> list[dict[str, Any]]:
        return self._call("GET", "/api/nodes")["data"]  # type: ignore[no-any-return]

    def close(self) -> None:
        self._http.close()
