"""What to run for one managed instance: a built-in engine under `modelport worker`, an external engine
from a preset (vLLM, SGLang, llama.cpp's server, TEI), or a user's own command line.

Every instance listens on 127.0.0.1 on a port the supervisor chooses and demands a per-instance secret, so
only the gateway can reach it with a request it accepts.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from modelport.config import MAX_REQUEST_BYTES
from modelport.engines.args import GATEWAY_ARGS, validate_engine_args, worker_engine_args
from modelport.engines.registry import ENGINE_NAMES
from modelport.errors import BadRequest
from modelport.records import DeploymentSpec
from modelport.sources.reference import BadReference, parse_reference

BUILT_IN_ENGINES = frozenset(ENGINE_NAMES)  # engines `modelport worker` hosts


@dataclass(frozen=True)
class Preset:
    """An external engine's command line. Placeholders: {model} {port} {name} {secret}. Engines that read
    their API key from the environment get it there (`secret_env`), out of sight of `ps`."""

    argv: tuple[str, ...]
    health_path: str = "/health"
    secret_env: str | None = None


PRESETS: dict[str, Preset] = {
    "vllm": Preset(
        ("vllm", "serve", "{model}", "--host", "127.0.0.1", "--port", "{port}", "--served-model-name", "{name}"),
        secret_env="VLLM_API_KEY",
    ),
    "sglang": Preset(
        (sys.executable, "-m", "sglang.launch_server", "--model-path", "{model}", "--host", "127.0.0.1",
         "--port", "{port}", "--served-model-name", "{name}", "--api-key", "{secret}"),
    ),
    "llama-server": Preset(
        ("llama-server", "-m", "{model}", "--host", "127.0.0.1", "--port", "{port}", "--alias", "{name}"),
        secret_env="LLAMA_API_KEY",
    ),
    "tei": Preset(
        ("text-embeddings-router", "--model-id", "{model}", "--hostname", "127.0.0.1", "--port", "{port}",
         "--served-model-name", "{name}"),
        secret_env="API_KEY",
    ),
}


@dataclass(frozen=True)
class LaunchPlan:
    argv: list[str]
    env: dict[str, str]
    port: int
    secret: str
    log_path: Path
    health_path: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.health_path}"


def check_launchable(spec: DeploymentSpec) -> None:
    """400 for an engine deployment that names nothing runnable, or a built-in engine given an engine arg
    it does not take (or a value of the wrong type or out of range). The gateway's own args (`GATEWAY_ARGS`)
    are checked for every engine, preset, command and URL."""
    check_gateway_args(spec)
    if spec.command or spec.urls:
        return
    if spec.engine in BUILT_IN_ENGINES:
        if not spec.model:
            raise BadRequest(f"Engine `{spec.engine}` needs a model: a catalog name or a file path.", param="model")
        try:
            parse_reference(spec.model)
        except BadReference as exc:
            raise BadRequest(f"Invalid model reference: {exc}.", param="model") from None
        validate_engine_args(spec.engine, spec.engine_args)
        return
    if spec.engine in PRESETS:
        if not spec.model:
            raise BadRequest(f"Engine `{spec.engine}` needs --model (what it should load).", param="model")
        return
    known = ", ".join(sorted(BUILT_IN_ENGINES | set(PRESETS)))
    raise BadRequest(f"Unknown engine `{spec.engine}`; use one of: {known}, or --command.", param="engine")


def check_gateway_args(spec: DeploymentSpec) -> None:
    """400 for a gateway arg (`startup_timeout`, `reserve_output_tokens`, ...) with a value of the wrong type
    or out of range, whatever runs the deployment."""
    for arg in GATEWAY_ARGS:
        raw = spec.engine_args.get(arg.name)
        if raw is None:
            continue
        try:
            arg.parse(raw)
        except ValueError as exc:
            raise BadRequest(f"Engine arg `{arg.name}={raw}`: {exc}.", param="engine_args") from None


def plan_launch(
    spec: DeploymentSpec, ordinal: int, port: int, secret: str, logs_dir: Path, max_body_bytes: int = MAX_REQUEST_BYTES
) -> LaunchPlan:
    """How to run one instance; built-in engines accept bodies up to `max_body_bytes` (the gateway's limit)."""
    fields = {"model": spec.model or "", "port": str(port), "name": spec.name, "secret": secret}
    env = {"MODELPORT_INSTANCE_SECRET": secret, "OMP_WAIT_POLICY": "PASSIVE"}
    log_path = logs_dir / log_file_name(spec.name, ordinal)
    if spec.command:
        argv = [part.format(**fields) for part in spec.command]
        return LaunchPlan(argv, env, port, secret, log_path, "/v1" + spec.health_path)
    if spec.engine in PRESETS:
        preset = PRESETS[spec.engine]
        fields["model"] = hub_repo_id(spec.model or "")
        argv = [part.format(**fields) for part in preset.argv] + _extra_args(spec)
        if preset.secret_env:
            env[preset.secret_env] = secret
        return LaunchPlan(argv, env, port, secret, log_path, preset.health_path)
    args = worker_engine_args(spec.engine_args)
    argv = [
        sys.executable, "-m", "modelport.worker", "--engine", spec.engine or "", "--model", spec.model or "",
        "--port", str(port), "--served-name", spec.name, "--threads", args.pop("threads", "1"),
        "--max-upload-mb", str(-(-max_body_bytes // (1024 * 1024))),
    ]
    for key, value in args.items():  # every other engine arg the engine takes (check_launchable checked them)
        argv += ["--engine-arg", f"{key}={value}"]
    return LaunchPlan(argv, env, port, secret, log_path, "/health")


#: `--engine-arg predownload=true`: an external engine gets the model fetched into modelport's cache (a local
#: folder) instead of the repo id to download itself.
PREDOWNLOAD_ARG = "predownload"


def hub_repo_id(model: str) -> str:
    """What an external engine (vLLM, SGLang, TEI) downloads itself: `hf://ORG/REPO` as `ORG/REPO`."""
    return model.removeprefix("hf://").split(":", 1)[0].split("@", 1)[0] if model.startswith("hf://") else model


def _extra_args(spec: DeploymentSpec) -> list[str]:
    """`engine_args` become `--key value` flags for external engines (e.g. max-model-len=4096); modelport's
    own `predownload` and the gateway's args (`GATEWAY_ARGS`) are not passed on."""
    out: list[str] = []
    for key, value in worker_engine_args(spec.engine_args).items():
        if key != PREDOWNLOAD_ARG:
            out += [f"--{key}"] + ([value] if value != "" else [])
    return out


def log_file_name(deployment: str, ordinal: int) -> str:
    """The file name of an instance's engine log (in the data dir's logs, or on its Ray node)."""
    return f"{safe_name(deployment)}-{ordinal}.log"


def safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
