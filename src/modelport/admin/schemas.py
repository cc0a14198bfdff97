"""The admin API's request and error bodies (pydantic, for FastAPI and the OpenAPI document).

Numbers and list lengths carry their bounds here, so the document states them; `admin.limits` checks the
same bounds (and the strings) again for the CLI, which builds a `DeploymentSpec` without these models."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from modelport.admin import limits
from modelport.records import Category, DeploymentSpec, KeyScope, Timeouts

Seconds = Annotated[float, Field(gt=0, le=limits.MAX_TIMEOUT_SECONDS, allow_inf_nan=False)]


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    """Every error the admin API answers, in OpenAI's shape."""

    error: ErrorDetail


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=limits.MAX_KEY_NAME)
    scope: KeyScope = KeyScope.INFERENCE
    models: list[str] | None = Field(
        default=None, max_length=limits.MAX_KEY_MODELS, description="Allow-list of deployment names; omit for all."
    )
    expires_in: str | None = Field(default=None, max_length=32, description="e.g. 30d, 12h, 15m")


class TimeoutsIn(BaseModel):
    """Seconds, each above 0 and at most 7 days."""

    connect: Seconds = Timeouts.connect
    first_byte: Seconds = Timeouts.first_byte
    idle: Seconds = Timeouts.idle
    total: Seconds = Timeouts.total


class DeploymentIn(BaseModel):
    name: str = Field(min_length=1, max_length=limits.MAX_NAME)
    category: Category = Category.LLM
    urls: list[str] = Field(
        default_factory=list, max_length=limits.MAX_URLS, description="Remote OpenAI-compatible base URLs."
    )
    upstream_key: str | None = Field(default=None, max_length=limits.MAX_TEXT)
    upstream_model: str | None = Field(default=None, max_length=limits.MAX_SHORT_TEXT)
    health_path: str = Field(default="/models", max_length=limits.MAX_TEXT)
    replicas: int = Field(default=1, ge=1, le=limits.MAX_REPLICAS)
    engine: str | None = Field(default=None, max_length=limits.MAX_SHORT_TEXT)
    model: str | None = Field(default=None, max_length=limits.MAX_TEXT)
    command: list[str] | None = Field(default=None, max_length=limits.MAX_COMMAND_PARTS)
    engine_args: dict[str, str] = Field(default_factory=dict, max_length=limits.MAX_ENGINE_ARGS)
    generic_proxy: bool = False
    speaks_anthropic: bool = False
    timeouts: TimeoutsIn = Field(default_factory=TimeoutsIn)
    aliases: list[str] = Field(
        default_factory=list, max_length=limits.MAX_ALIASES, description="More names clients may use as `model`."
    )

    def to_spec(self) -> DeploymentSpec:
        data = self.model_dump()
        data["urls"] = tuple(data["urls"])
        data["aliases"] = tuple(data["aliases"])
        data["command"] = tuple(data["command"]) if data["command"] else None
        data["timeouts"] = Timeouts(**data["timeouts"])
        return DeploymentSpec(**data)
