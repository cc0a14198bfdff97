"""The admin API under `/api` (JSON, OpenAPI at `/api/openapi.json`). The gateway's dispatcher has already
checked the `admin` scope before a request gets here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from modelport import __version__
from modelport.admin.http_errors import install_error_handlers
from modelport.admin.limits import MAX_REPLICAS
from modelport.admin.openapi import error_responses, install_openapi
from modelport.admin.patch import DeploymentPatch
from modelport.admin.schemas import DeploymentIn, KeyIn, LimitsIn
from modelport.admin.service import AdminService
from modelport.admin.usage_api import add_usage_routes
from modelport.admin.views import deployment_view, key_detail_view, key_view, limits_view, unreadable_view
from modelport.errors import BadRequest


def create_admin_app(service: AdminService, on_change: Callable[[], Awaitable[None]] | None = None) -> FastAPI:
    """The `/api` app. `on_change` runs after a deployment is added or removed, so this process routes to
    it at once (other processes notice through the store's revision)."""

    async def changed() -> None:
        if on_change is not None:
            await on_change()

    app = FastAPI(
        title="modelport admin API",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )

    install_error_handlers(app)
    install_openapi(app)
    add_usage_routes(app, service.store.usage)

    @app.get("/api/keys", summary="List API keys (secrets are never shown)", responses=error_responses())
    async def list_keys() -> dict[str, Any]:
        keys = await asyncio.to_thread(service.list_keys)
        return {"data": [key_view(k) for k in keys]}

    @app.post("/api/keys", status_code=201, summary="Create a key; its secret is in the answer, once",
              responses=error_responses(400))
    async def create_key(body: KeyIn) -> dict[str, Any]:
        limits = body.limits.to_key_limits() if body.limits is not None else None
        key, token = await asyncio.to_thread(service.create_key, body.name, body.scope, body.models, body.expires_in,
                                             limits)
        return {**key_view(key), "key": token}

    @app.get("/api/limits/defaults", summary="The limits of keys without limits of their own",
             responses=error_responses())
    async def limit_defaults() -> dict[str, Any]:
        return limits_view(await asyncio.to_thread(service.limit_defaults))

    @app.put("/api/limits/defaults", summary="Replace the limits of keys without their own (within a second)",
             responses=error_responses(400))
    async def set_limit_defaults(body: LimitsIn) -> dict[str, Any]:
        return limits_view(await asyncio.to_thread(service.set_limit_defaults, body.to_key_limits()))

    @app.get("/api/keys/{key_id}", summary="One key, with where each of its limits stands now",
             responses=error_responses(404))
    async def get_key(key_id: str) -> dict[str, Any]:
        return key_detail_view(*await asyncio.to_thread(service.key, key_id))

    @app.put("/api/keys/{key_id}/limits", summary="Replace a key's limits (effective within a second)",
             responses=error_responses(400, 404))
    async def set_key_limits(key_id: str, body: LimitsIn) -> dict[str, Any]:
        return key_view(await asyncio.to_thread(service.set_key_limits, key_id, body.to_key_limits()))

    @app.delete("/api/keys/{key_id}", summary="Revoke a key (effective within a second)",
                responses=error_responses(404))
    async def revoke_key(key_id: str) -> dict[str, Any]:
        return key_view(await asyncio.to_thread(service.revoke_key, key_id))

    @app.get(
        "/api/deployments",
        summary="Deployments with their instances and states; `unreadable` names stored ones that cannot be read",
        responses=error_responses(),
    )
    async def list_deployments() -> dict[str, Any]:
        overview = await asyncio.to_thread(service.deployments)
        return {
            "data": [deployment_view(s) for s in overview.statuses],
            "unreadable": [unreadable_view(u) for u in overview.unreadable],
        }

    @app.get("/api/nodes", responses=error_responses(),
             summary="This machine's CPUs, memory and GPUs (or the Ray cluster's nodes) and the nodes instances run on")
    async def list_nodes() -> dict[str, Any]:
        return {"data": await asyncio.to_thread(service.nodes)}

    @app.get("/api/deployments/{name:path}", summary="One deployment", responses=error_responses(404, 500))
    async def get_deployment(name: str) -> dict[str, Any]:
        return deployment_view(await asyncio.to_thread(service.deployment, name))

    @app.get(
        "/api/logs/{name:path}",
        summary="The tail of a managed instance's log",
        response_class=PlainTextResponse,
        responses=error_responses(400, 404, 500),
    )
    async def logs(
        name: str, ordinal: int = Query(0, ge=0, lt=MAX_REPLICAS), lines: int = Query(200, ge=1, le=100_000)
    ) -> str:
        return await asyncio.to_thread(service.logs, name, ordinal, lines)

    @app.post("/api/deployments", status_code=201, summary="Deploy a model", responses=error_responses(400, 409))
    async def deploy(body: DeploymentIn) -> dict[str, Any]:
        deployment = await asyncio.to_thread(service.deploy, body.to_spec())
        await changed()
        return deployment_view(await asyncio.to_thread(service.deployment, deployment.name))

    @app.put(
        "/api/deployments/{name:path}",
        summary="Create or replace a deployment (replacing one that cannot be read repairs it)",
        responses=error_responses(400, 409),
    )
    async def deploy_or_replace(name: str, body: DeploymentIn, response: Response) -> dict[str, Any]:
        if body.name != name:
            raise BadRequest(f"The body names `{body.name}` but the path `{name}`.", param="name")
        _, created = await asyncio.to_thread(service.put, body.to_spec())
        await changed()
        response.status_code = 201 if created else 200
        return deployment_view(await asyncio.to_thread(service.deployment, name))

    @app.patch(
        "/api/deployments/{name:path}",
        summary="Change some fields of a deployment (those omitted, its upstream key too, stay as they are)",
        responses=error_responses(400, 404, 409),
    )
    async def patch_deployment(name: str, body: DeploymentPatch) -> dict[str, Any]:
        if body.name is not None and body.name != name:
            raise BadRequest(f"The body names `{body.name}` but the path `{name}`; to rename, deploy anew.",
                             param="name")
        await asyncio.to_thread(lambda: service.put(body.apply(service.deployment(name).deployment.spec)))
        await changed()
        return deployment_view(await asyncio.to_thread(service.deployment, name))

    @app.delete(
        "/api/deployments/{name:path}",
        summary="Remove a deployment and stop its instances",
        responses=error_responses(404),
    )
    async def undeploy(name: str) -> JSONResponse:
        await asyncio.to_thread(service.undeploy, name)
        await changed()
        return JSONResponse({"deleted": name})

    return app
