"""The admin API under `/api` (JSON, OpenAPI at `/api/openapi.json`). The gateway's dispatcher has already
checked the `admin` scope before a request gets here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from modelport import __version__
from modelport.admin.service import AdminService
from modelport.admin.views import deployment_view, key_view
from modelport.errors import BadRequest, ModelportError
from modelport.records import Category, DeploymentSpec, Scope, Timeouts


class KeyIn(BaseModel):
    name: str
    scope: Scope = Scope.INFERENCE
    models: list[str] | None = Field(default=None, description="Allow-list of deployment names; omit for all.")
    expires_in: str | None = Field(default=None, description="e.g. 30d, 12h, 15m")


class TimeoutsIn(BaseModel):
    connect: float = Timeouts.connect
    first_byte: float = Timeouts.first_byte
    idle: float = Timeouts.idle
    total: float = Timeouts.total


class DeploymentIn(BaseModel):
    name: str
    category: Category = Category.LLM
    urls: list[str] = Field(default_factory=list, description="Remote OpenAI-compatible base URLs.")
    upstream_key: str | None = None
    upstream_model: str | None = None
    health_path: str = "/models"
    replicas: int = 1
    engine: str | None = None
    model: str | None = None
    command: list[str] | None = None
    engine_args: dict[str, str] = Field(default_factory=dict)
    generic_proxy: bool = False
    speaks_anthropic: bool = False
    timeouts: TimeoutsIn = Field(default_factory=TimeoutsIn)
    aliases: list[str] = Field(default_factory=list, description="More names clients may use as `model`.")

    def to_spec(self) -> DeploymentSpec:
        data = self.model_dump()
        data["urls"] = tuple(data["urls"])
        data["aliases"] = tuple(data["aliases"])
        data["command"] = tuple(data["command"]) if data["command"] else None
        data["timeouts"] = Timeouts(**data["timeouts"])
        return DeploymentSpec(**data)


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

    @app.exception_handler(ModelportError)
    async def _modelport_error(request: Request, exc: ModelportError) -> Response:
        return Response(exc.openai_body(), status_code=exc.status, media_type="application/json")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        error = BadRequest(f"Invalid request: {exc.errors()}")
        return Response(error.openai_body(), status_code=400, media_type="application/json")

    @app.get("/api/keys", summary="List API keys (secrets are never shown)")
    async def list_keys() -> dict[str, Any]:
        keys = await asyncio.to_thread(service.list_keys)
        return {"data": [key_view(k) for k in keys]}

    @app.post("/api/keys", status_code=201, summary="Create a key; its secret is in the answer, once")
    async def create_key(body: KeyIn) -> dict[str, Any]:
        key, token = await asyncio.to_thread(service.create_key, body.name, body.scope, body.models, body.expires_in)
        return {**key_view(key), "key": token}

    @app.delete("/api/keys/{key_id}", summary="Revoke a key (effective within a second)")
    async def revoke_key(key_id: str) -> dict[str, Any]:
        return key_view(await asyncio.to_thread(service.revoke_key, key_id))

    @app.get("/api/deployments", summary="Deployments with their instances and states")
    async def list_deployments() -> dict[str, Any]:
        statuses = await asyncio.to_thread(service.deployments)
        return {"data": [deployment_view(s) for s in statuses]}

    @app.get("/api/deployments/{name:path}", summary="One deployment")
    async def get_deployment(name: str) -> dict[str, Any]:
        return deployment_view(await asyncio.to_thread(service.deployment, name))

    @app.get("/api/logs/{name:path}", summary="The tail of a managed instance's log", response_class=PlainTextResponse)
    async def logs(name: str, ordinal: int = 0, lines: int = 200) -> str:
        return await asyncio.to_thread(service.logs, name, ordinal, lines)

    @app.post("/api/deployments", status_code=201, summary="Deploy a model")
    async def deploy(body: DeploymentIn) -> dict[str, Any]:
        deployment = await asyncio.to_thread(service.deploy, body.to_spec())
        await changed()
        return deployment_view(await asyncio.to_thread(service.deployment, deployment.name))

    @app.put("/api/deployments/{name:path}", summary="Create or replace a deployment")
    async def deploy_or_replace(name: str, body: DeploymentIn, response: Response) -> dict[str, Any]:
        if body.name != name:
            raise BadRequest(f"The body names `{body.name}` but the path `{name}`.", param="name")
        _, created = await asyncio.to_thread(service.put, body.to_spec())
        await changed()
        response.status_code = 201 if created else 200
        return deployment_view(await asyncio.to_thread(service.deployment, name))

    @app.delete("/api/deployments/{name:path}", summary="Remove a deployment and stop its instances")
    async def undeploy(name: str) -> JSONResponse:
        await asyncio.to_thread(service.undeploy, name)
        await changed()
        return JSONResponse({"deleted": name})

    return app
