"""The records modelport keeps: API keys, deployments and their instances.

Pure data, shared by the store, the admin API, the CLI and the gateway. Timestamps are timezone-aware UTC.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime

import msgspec


class KeyScope(str, enum.Enum):
    """What a key may do: call models (`/v1/...`) or also administer (`/api/...`)."""

    INFERENCE = "inference"
    ADMIN = "admin"

    def allows(self, needed: KeyScope) -> bool:
        return self is KeyScope.ADMIN or needed is KeyScope.INFERENCE


class Category(str, enum.Enum):
    """Model categories, named as GPUStack names them."""

    LLM = "llm"
    EMBEDDING = "embedding"
    RERANKER = "reranker"
    IMAGE = "image"
    SPEECH_TO_TEXT = "speech_to_text"
    TEXT_TO_SPEECH = "text_to_speech"


class InstanceState(str, enum.Enum):
    PENDING = "pending"
    DOWNLOADING = "downloading"  # fetching the model from its source before the engine starts
    STARTING = "starting"
    READY = "ready"
    UNHEALTHY = "unhealthy"
    RESTARTING = "restarting"
    STOPPED = "stopped"
    FAILED = "failed"


class BudgetPeriod(str, enum.Enum):
    """How often a token budget renews: at each UTC day or calendar month, or never (`total`)."""

    DAY = "day"
    MONTH = "month"
    TOTAL = "total"


@dataclass(frozen=True)
class Budget:
    """Tokens (input + output) a key may spend per period; refused after `expires_at` when one is set."""

    tokens: int
    period: BudgetPeriod = BudgetPeriod.MONTH
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Limits:
    """What a key (or one deployment through it) may use. None: no limit of that kind."""

    rpm: int | None = None  # requests per minute, over a sliding 60 s window
    tpm: int | None = None  # tokens (input + output) per minute, over the same window
    concurrency: int | None = None  # requests in flight at once
    budget: Budget | None = None

    @property
    def is_empty(self) -> bool:
        return self.rpm is None and self.tpm is None and self.concurrency is None and self.budget is None


@dataclass(frozen=True)
class KeyLimits:
    """A key's limits: over everything it calls, and per deployment (both apply to a request)."""

    overall: Limits = field(default_factory=Limits)
    deployments: tuple[tuple[str, Limits], ...] = ()  # (deployment name, its limits), sorted by name

    @property
    def is_empty(self) -> bool:
        return self.overall.is_empty and all(limits.is_empty for _, limits in self.deployments)

    def for_deployment(self, name: str) -> Limits | None:
        """The limits of `name` through this key, or None."""
        return next((limits for deployment, limits in self.deployments if deployment == name), None)


@dataclass(frozen=True)
class ApiKey:
    """A stored key: its public id and the hash of its secret, never the secret itself."""

    id: str
    name: str
    secret_hash: str
    scope: KeyScope
    models: tuple[str, ...] | None  # allow-list of deployment names; None means every model
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    limits: KeyLimits = field(default_factory=KeyLimits)

    def is_active(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at

    def may_use(self, model: str) -> bool:
        return self.models is None or model in self.models


@dataclass(frozen=True)
class Timeouts:
    """Upstream timeouts in seconds. Defaults suit slow LLM streams: minutes, not seconds."""

    connect: float = 10.0
    first_byte: float = 600.0  # from request sent to response headers (prefill of a long prompt)
    idle: float = 300.0  # longest silence between two chunks of a response
    total: float = 3600.0


@dataclass(frozen=True)
class Resources:
    """What each instance of a deployment needs of the node it runs on, in Ray's terms: CPUs, whole GPUs,
    memory (RAM) in bytes and custom resources by name. Zero (or none): nothing asked of that kind."""

    cpus: float = 0.0
    gpus: int = 0
    memory_bytes: int = 0
    custom: dict[str, float] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.cpus or self.gpus or self.memory_bytes or any(self.custom.values()))


@dataclass(frozen=True)
class DeploymentSpec:
    """What the user asked for when deploying. Stored as JSON, so new options need no migration."""

    name: str
    category: Category = Category.LLM
    urls: tuple[str, ...] = ()  # remote instances: OpenAI-compatible base URLs, e.g. http://host:8000/v1
    upstream_key: str | None = None  # sent upstream as `Authorization: Bearer`
    upstream_model: str | None = None  # the upstream's model id, when it differs from `name`
    health_path: str = "/models"  # probed relative to each URL
    replicas: int = 1  # instances of an engine that modelport starts itself
    engine: str | None = None  # built-in or external engine name (managed instances)
    model: str | None = None  # what the engine loads: a path or a catalog id
    command: tuple[str, ...] | None = None  # external engine command line
    engine_args: dict[str, str] = field(default_factory=dict)
    generic_proxy: bool = False
    speaks_anthropic: bool = False  # upstream serves /v1/messages natively
    timeouts: Timeouts = field(default_factory=Timeouts)
    aliases: tuple[str, ...] = ()  # more names clients may put in `model`, e.g. tools that hard-code whisper-1
    resources: Resources = field(default_factory=Resources)  # what each managed instance needs of its node

    @property
    def is_remote(self) -> bool:
        return bool(self.urls)


@dataclass(frozen=True)
class Deployment:
    id: int
    spec: DeploymentSpec
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class UnreadableDeployment:
    """A stored deployment whose spec does not decode (written by an older or broken version, or by hand):
    reported and skipped, never fatal. Replacing or removing it by name repairs the store."""

    name: str
    error: str


@dataclass(frozen=True)
class DeploymentListing:
    """Every stored deployment: those that decode, and those that do not."""

    deployments: list[Deployment]
    unreadable: list[UnreadableDeployment]


@dataclass(frozen=True)
class InstanceRecord:
    """One instance of a deployment as last recorded: where it listens and how it is doing."""

    deployment: str
    ordinal: int
    url: str
    state: InstanceState
    reason: str
    updated_at: datetime
    pid: int | None = None
    node: str = ""  # where it runs: the node's name ('' for remote URLs and older records)
    gpus: tuple[str, ...] = ()  # the UUIDs of the GPUs it was given (its CUDA_VISIBLE_DEVICES)


#: What only changes how the gateway routes to a deployment, never what its instances run.
ROUTING_ONLY_FIELDS = ("category", "aliases", "timeouts", "generic_proxy", "speaks_anthropic", "upstream_model")


def runs_the_same(old: DeploymentSpec, new: DeploymentSpec) -> bool:
    """Whether `new` runs the same instances as `old`: they differ at most in routing-only fields, so a
    replaced deployment keeps its running instances."""
    return replace(old, **{name: getattr(new, name) for name in ROUTING_ONLY_FIELDS}) == new


def limits_to_dict(limits: KeyLimits) -> dict[str, object]:
    """A JSON-ready dict of a key's limits."""
    return msgspec.to_builtins(limits)  # type: ignore[no-any-return]


def limits_from_dict(data: dict[str, object]) -> KeyLimits:
    """The inverse of `limits_to_dict`; raises `msgspec.ValidationError` on a malformed dict."""
    return msgspec.convert(data, KeyLimits, strict=False)


def spec_to_dict(spec: DeploymentSpec) -> dict[str, object]:
    """A JSON-ready dict of a spec (enums as values, tuples as lists)."""
    return msgspec.to_builtins(spec)  # type: ignore[no-any-return]


def spec_from_dict(data: dict[str, object]) -> DeploymentSpec:
    """The inverse of `spec_to_dict`; raises `msgspec.ValidationError` on a malformed dict."""
    return msgspec.convert(data, DeploymentSpec, strict=False)
