"""The admin API's request and error bodies (pydantic, for FastAPI and the OpenAPI document).

Numbers and list lengths carry their bounds here, so the document states them; `admin.limits` checks the
same bounds (and the strings) again for the CLI, which builds a `DeploymentSpec` without these models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from modelport.admin import limits
from modelport.instances import resources
from modelport.quota.parse import MAX_COUNT
from modelport.records import (
    Budget,
    BudgetPeriod,
    Category,
    DeploymentSpec,
    KeyLimits,
    KeyScope,
    Limits,
    Resources,
    Timeouts,
)

Seconds = Annotated[float, Field(gt=0, le=limits.MAX_TIMEOUT_SECONDS, allow_inf_nan=False)]


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    """Every error the admin API answers, in OpenAI's shape."""

    error: ErrorDetail


Count = Annotated[int, Field(gt=0, le=MAX_COUNT)]


class BudgetIn(BaseModel):
    """Tokens (input + output) per period; refused after `expires_at` when given (UTC if no zone)."""

    tokens: Count
    period: BudgetPeriod = BudgetPeriod.MONTH
    expires_at: datetime | None = None


class ScopeLimitsIn(BaseModel):
    """Limits of one scope; each omitted or null is no limit of that kind."""

    rpm: Count | None = Field(default=None, description="Requests per minute (sliding 60 s window).")
    tpm: Count | None = Field(default=None, description="Tokens (input + output) per minute, same window.")
    concurrency: Count | None = Field(default=None, description="Requests in flight at once.")
    budget: BudgetIn | None = None

    def to_limits(self) -> Limits:
        budget = self.budget
        expires = budget.expires_at if budget is not None else None
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        return Limits(self.rpm, self.tpm, self.concurrency,
                      None if budget is None else Budget(budget.tokens, budget.period, expires))


class LimitsIn(ScopeLimitsIn):
    """A key's limits: its own, and per deployment (both apply to a request)."""

    deployments: dict[str, ScopeLimitsIn] = Field(default_factory=dict, max_length=limits.MAX_KEY_MODELS)

    def to_key_limits(self) -> KeyLimits:
        scoped = sorted((name, given.to_limits()) for name, given in self.deployments.items())
        return KeyLimits(self.to_limits(), tuple((name, lim) for name, lim in scoped if not lim.is_empty))


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=limits.MAX_KEY_NAME)
    scope: KeyScope = KeyScope.INFERENCE
    models: list[str] | None = Field(
        default=None, max_length=limits.MAX_KEY_MODELS, description="Allow-list of deployment names; omit for all."
    )
    expires_in: str | None = Field(default=None, max_length=32, description="e.g. 30d, 12h, 15m")
    limits: LimitsIn | None = None


class TimeoutsIn(BaseModel):
    """Seconds, each above 0 and at most 7 days."""

    connect: Seconds = Timeouts.connect
    first_byte: Seconds = Timeouts.first_byte
    idle: Seconds = Timeouts.idle
    total: Seconds = Timeouts.total


class ResourcesIn(BaseModel):
    """What each managed instance needs of its node (0: nothing of that kind)."""

    cpus: float = Field(default=0.0, ge=0, le=resources.MAX_AMOUNT, allow_inf_nan=False)
    gpus: int = Field(default=0, ge=0, le=int(resources.MAX_AMOUNT), description="Whole GPUs.")
    memory_bytes: int = Field(default=0, ge=0, le=resources.MAX_MEMORY_BYTES, description="RAM.")
    custom: dict[str, Annotated[float, Field(ge=0, le=resources.MAX_AMOUNT, allow_inf_nan=False)]] = Field(
        default_factory=dict, max_length=resources.MAX_CUSTOM_RESOURCES,
        description="Custom resources by name, as the nodes declare them (e.g. Ray's --resources).")


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
    resources: ResourcesIn = Field(default_factory=ResourcesIn)

    def to_spec(self) -> DeploymentSpec:
        data = self.model_dump()
        data["urls"] = tuple(data["urls"])
        data["aliases"] = tuple(data["aliases"])
        data["command"] = tuple(data["command"]) if data["command"] else None
        data["timeouts"] = Timeouts(**data["timeouts"])
        data["resources"] = Resources(**data["resources"])
        return DeploymentSpec(**data)
