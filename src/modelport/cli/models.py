"""`modelport models`: the built-in model catalog and whether each model can run on this machine."""

from __future__ import annotations

import importlib.util

import click

from modelport.engines.args import ENGINE_ARGS
from modelport.engines.catalog import load_catalog


@click.command("models")
@click.option("--verbose", "-v", is_flag=True, help="Also show each model's card and license, and engine args.")
def models(verbose: bool) -> None:
    """List the catalog: name, engine, categories, ready here or not (and what to install)."""
    entries = load_catalog()
    width = max(len(e.name) for e in entries)
    for entry in entries:
        ready, why, hint = entry.readiness()
        status = "ready" if ready else "not ready"
        default = " (default)" if entry.default else ""
        click.echo(
            f"{entry.name:<{width}}  {entry.engine:<16} {','.join(entry.categories):<10} {status}{default}"
        )
        if not ready:
            click.echo(f"{'':<{width}}  why: {why}; install: {hint}")
        if verbose:
            click.echo(f"{'':<{width}}  {entry.card} [license: {entry.license}]")
    _explain_images()
    if verbose:
        _explain_engine_args()


def _explain_engine_args() -> None:
    """What `--engine-arg KEY=VALUE` each built-in engine takes (anything else is refused at deploy)."""
    click.echo("\nengine args (modelport deploy ... --engine-arg KEY=VALUE):")
    for engine, args in ENGINE_ARGS.items():
        click.echo(f"  {engine}:")
        for arg in args:
            click.echo(f"    {arg.describe()}: {arg.help}")


def _explain_images() -> None:
    """No image weights ship in any package, so the catalog has no image model: say how to bring one."""
    if importlib.util.find_spec("diffusers") is not None:
        engine = "the diffusers engine is installed"
    else:
        engine = "the diffusers engine is not installed (scripts/install-engines --images)"
    click.echo(
        f"\nimages: no image model ships with modelport; {engine}. Deploy a local diffusers folder with\n"
        "  modelport deploy my-images --engine diffusers --model /path/to/pipeline --category image"
    )
