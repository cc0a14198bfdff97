"""`modelport models`: the built-in model catalog and whether each model can run on this machine; what a
hub offers (`--search`), what the model cache holds (`--cached`) and removing what no deployment uses
(`--prune`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import click

from modelport.cli.common import admin_client, admin_options
from modelport.engines.args import ENGINE_ARGS
from modelport.engines.catalog import load_catalog
from modelport.sources import hf
from modelport.sources.cache import ModelCache, margin_text
from modelport.sources.download import FetchFailed
from modelport.sources.reference import BadReference, parse_reference


@click.command("models")
@click.option("--verbose", "-v", is_flag=True, help="Also show each model's card and license, and engine args.")
@click.option("--search", "query", metavar="TEXT", help="Search the Hugging Face Hub (or $HF_ENDPOINT) for TEXT.")
@click.option("--cached", is_flag=True, help="List the models fetched into the cache, with their sizes.")
@click.option("--prune", is_flag=True, help="Remove cached models that no deployment in the store uses.")
@admin_options
def models(verbose: bool, query: str | None, cached: bool, prune: bool, data_dir: Path | None,
           database_url: str | None, server: str | None, key: str | None) -> None:
    """List the catalog: name, engine, categories, ready here or not (and what to install)."""
    if query is not None:
        return _search(query)
    if cached:
        return _cached(ModelCache())
    if prune:
        with admin_client(data_dir, database_url, server, key) as admin:
            used = {str(d.get("model") or "") for d in admin.deployments()["data"]}
        return _prune(ModelCache(), used)
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


def _search(query: str) -> None:
    """What the Hub offers for `query`: repo, size of a default deploy, quantisations, license."""
    try:
        hits = hf.search(query)
    except FetchFailed as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if not hits:
        click.echo(f"nothing found for {query!r} on {hf.endpoint()}")
        return
    width = max(len(hit.repo) for hit in hits)
    for hit in hits:
        quants = ",".join(hit.quantisations) or "-"
        click.echo(f"{hit.repo:<{width}}  {margin_text(hit.size):>10}  {hit.license or 'unknown':<12} {quants}")
    click.echo(f"\ndeploy one with: modelport deploy NAME --model hf://{hits[0].repo}[:QUANT]")


def _cached(cache: ModelCache) -> None:
    records = cache.records()
    if not records:
        click.echo(f"no models in the cache ({cache.root})")
        return
    width = max(len(r.reference) for r in records)
    for record in records:
        state = "" if cache.complete(record) else "  (incomplete)"
        click.echo(f"{record.reference:<{width}}  {margin_text(record.size):>10}  {cache.entry_path(record)}{state}")
    click.echo(f"total {margin_text(sum(r.size for r in records))} in {cache.root}")


def _prune(cache: ModelCache, used_models: set[str]) -> None:
    """Remove each cached model whose reference no deployment names."""
    used = {_normalised(model) for model in used_models}
    records = cache.records()
    kept = [r for r in records if r.reference in used]
    keep_folders = {r.folder for r in kept}
    freed = 0
    for record in records:
        if record.reference not in used:
            freed += cache.remove(record, keep_folders)
            click.echo(f"removed {record.reference}")
    partials = cache.remove_partials()
    if partials:
        click.echo(f"removed {margin_text(partials)} of interrupted downloads")
    click.echo(f"freed {margin_text(freed + partials)}; kept {len(kept)} model(s) in use")


def _normalised(model: str) -> str:
    try:
        ref = parse_reference(model)
    except BadReference:
        return model
    return str(ref) if ref is not None else model
