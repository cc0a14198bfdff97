"""`modelport deploy`, `undeploy`, `deployments`."""

from __future__ import annotations

import json
import shlex
import sys

import click

from modelport.admin.client import AdminClient
from modelport.admin.limits import check_timeouts
from modelport.cli.common import pass_admin
from modelport.cli.progress import wait_until_ready
from modelport.engines.catalog import find_entry
from modelport.instances.resources import parse_custom, parse_memory
from modelport.records import Category, DeploymentSpec, Resources, Timeouts
from modelport.sources.reference import is_source_reference


@click.command()
@click.argument("name")
@click.option(
    "--url",
    "urls",
    multiple=True,
    help="Base URL of an OpenAI-compatible server (vLLM, Ollama, llama.cpp, another modelport), "
    "e.g. http://10.0.0.5:8000/v1. Repeat for several instances.",
)
@click.option("--upstream-key", help="Key the upstream expects (sent as Authorization: Bearer).")
@click.option("--upstream-model", help="The upstream's model id, when it differs from NAME.")
@click.option(
    "--engine",
    help="Run the model here: llama.cpp, onnx-embeddings, e5, piper, faster-whisper, diffusers (built in), "
    "or vllm, sglang, llama-server, tei (external, must be installed). Default for a catalog --model: its engine.",
)
@click.option(
    "--model",
    "model",
    help="What the engine loads: a catalog name (`modelport models`), a path, a Hugging Face repo "
    "(hf://ORG/REPO[:QUANT-or-FILE], or ORG/REPO) or an Ollama model (ollama://NAME[:TAG]), fetched into the cache.",
)
@click.option(
    "--command",
    "command",
    help="Run your own server instead: a command line with {port}, {model}, "
    "{name}, {secret} placeholders, serving OpenAI's API under /v1.",
)
@click.option(
    "--engine-arg",
    "engine_args",
    multiple=True,
    metavar="KEY=VALUE",
    help="Engine option, e.g. threads=2, startup_timeout=900, or flags for external engines.",
)
@click.option("--replicas", type=int, default=1, show_default=True, help="Instances of an engine modelport runs.")
@click.option(
    "--timeout",
    "timeouts",
    multiple=True,
    metavar="KIND=SECONDS",
    help="Upstream timeout: connect, first_byte, idle (between chunks) or total. Repeatable.",
)
@click.option(
    "--category",
    type=click.Choice([c.value for c in Category]),
    help="What the model does (default: the catalog model's, else llm).",
)
@click.option("--health-path", default="/models", show_default=True, help="Probed under each URL.")
@click.option(
    "--alias",
    "aliases",
    multiple=True,
    help="Another name clients may use as `model` (e.g. whisper-1 for tools that hard-code it). Repeatable.",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Create NAME, or replace it if it exists (instances restart only when what they run changes).",
)
@click.option("--generic-proxy", is_flag=True, help="Allow /model/proxy/... pass-through to this deployment.")
@click.option("--speaks-anthropic", is_flag=True, help="The upstream serves /v1/messages itself.")
@click.option("--wait", is_flag=True, help="Wait until every instance is ready (showing download progress), "
              "or exit 1 when one fails.")
@click.option("--cpus", type=click.FloatRange(0), default=0.0, help="CPUs each instance needs of its node.")
@click.option("--gpus", type=click.IntRange(0), default=0,
              help="Whole GPUs each instance needs (given through CUDA_VISIBLE_DEVICES).")
@click.option("--memory", help="Memory (RAM) each instance needs, e.g. 8GiB or 512MiB.")
@click.option("--resource", "custom_resources", multiple=True, metavar="NAME=AMOUNT",
              help="A custom resource each instance needs, as nodes declare them (Ray's --resources). Repeatable.")
@pass_admin
def deploy(
    admin: AdminClient,
    name: str,
    urls: tuple[str, ...],
    upstream_key: str | None,
    upstream_model: str | None,
    engine: str | None,
    model: str | None,
    command: str | None,
    engine_args: tuple[str, ...],
    replicas: int,
    timeouts: tuple[str, ...],
    category: str | None,
    health_path: str,
    aliases: tuple[str, ...],
    replace: bool,
    generic_proxy: bool,
    speaks_anthropic: bool,
    wait: bool,
    cpus: float,
    gpus: int,
    memory: str | None,
    custom_resources: tuple[str, ...],
) -> None:
    """Deploy NAME: clients then use it as `model: NAME`.

    \b
    Examples:
      modelport deploy qwen3 --url http://10.0.0.5:8000/v1            (a vLLM that already runs)
      modelport deploy mine --engine llama.cpp --model ~/models/my.gguf  (a GGUF file, run here)
      modelport deploy big --engine vllm --model Qwen/Qwen3-8B --replicas 2
      modelport deploy whisper-base --model whisper-base  (a catalog model: its engine and category)
      modelport deploy qwen3 --model Qwen/Qwen3-0.6B-GGUF --wait    (fetched from Hugging Face, Q4_K_M)
      modelport deploy gemma --model ollama://gemma3:270m            (fetched from Ollama's library)
      modelport deploy big --engine vllm --model Qwen/Qwen3-8B --gpus 1 --memory 16GiB  (given a free GPU)
    """
    args = dict(_key_value(item) for item in engine_args)
    entry = find_entry(model) if model and not urls and not command else None
    if entry is not None:
        engine = engine or entry.engine
        category = category or next(iter(entry.categories), None)
    elif model and not urls and not command and is_source_reference(model):
        engine = engine or "llama.cpp"  # a GGUF from a hub; name another engine for other repos
    spec = DeploymentSpec(
        name=name,
        category=Category(category or Category.LLM.value),
        urls=urls,
        upstream_key=upstream_key,
        upstream_model=upstream_model,
        replicas=replicas,
        health_path=health_path,
        engine=engine if engine or not command else "command",
        model=model,
        command=tuple(shlex.split(command)) if command else None,
        engine_args=args,
        generic_proxy=generic_proxy,
        speaks_anthropic=speaks_anthropic,
        timeouts=_timeouts(timeouts),
        aliases=aliases,
        resources=_resources(cpus, gpus, memory, custom_resources),
    )
    admin.deploy(spec, replace=replace)
    click.echo(f"deployed {name}")
    if wait and not wait_until_ready(admin, name):
        sys.exit(1)


def _resources(cpus: float, gpus: int, memory: str | None, custom: tuple[str, ...]) -> Resources:
    try:
        memory_bytes = parse_memory(memory) if memory else 0
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--memory") from None
    try:
        named = parse_custom(custom)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--resource") from None
    return Resources(cpus=cpus, gpus=gpus, memory_bytes=memory_bytes, custom=named)


def _timeouts(items: tuple[str, ...]) -> Timeouts:
    values: dict[str, float] = {}
    for item in items:
        kind, seconds = _key_value(item)
        if kind not in Timeouts.__dataclass_fields__:
            raise click.BadParameter(
                f"unknown timeout {kind!r}: use connect, first_byte, idle or total", param_hint="--timeout"
            )
        try:
            values[kind] = float(seconds)
        except ValueError:
            raise click.BadParameter(f"{item!r}: seconds must be a number", param_hint="--timeout") from None
    timeouts = Timeouts(**values)
    check_timeouts(timeouts)  # before JSON, which has no infinity, carries it to a server
    return timeouts


def _key_value(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--engine-arg")
    return key.strip(), value.strip()


@click.command()
@click.argument("name")
@click.option("--ordinal", default=0, show_default=True, help="Which replica.")
@click.option("--lines", "-n", default=200, show_default=True)
@pass_admin
def logs(admin: AdminClient, name: str, ordinal: int, lines: int) -> None:
    """The end of the log of a deployment's instance run by modelport.

    Under --placement ray the server fetches it from the node that runs (or last ran) the instance.
    """
    click.echo(admin.logs(name, ordinal, lines), nl=False)


@click.command()
@click.argument("name")
@pass_admin
def undeploy(admin: AdminClient, name: str) -> None:
    """Remove deployment NAME and stop its instances."""
    admin.undeploy(name)
    click.echo(f"undeployed {name}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@pass_admin
def deployments(admin: AdminClient, as_json: bool) -> None:
    """Each deployment with its instances and their states."""
    listing = admin.deployments()
    for unreadable in listing.get("unreadable", []):
        name = unreadable["name"]
        click.echo(f"warning: deployment {name} is unreadable in the store ({unreadable['error']}); it is skipped. "
                   f"Repair it with `modelport deploy {name} ... --replace` or `modelport undeploy {name}`.", err=True)
    items = listing["data"]
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    if not items:
        click.echo("no deployments")
    for item in items:
        source = ", ".join(item["urls"]) or f"engine {item['engine']} {item['model'] or ''}".strip()
        aliases = f"  (also: {', '.join(item['aliases'])})" if item.get("aliases") else ""
        click.echo(f"{item['name']}  [{item['category']}]  {source}{aliases}")
        for instance in item["instances"]:
            where = f"  on {instance['node']}" if instance.get("node") else ""
            click.echo(f"  #{instance['ordinal']} {instance['state']:<10} {instance['url']}  "
                       f"{instance['reason']}{where}")
