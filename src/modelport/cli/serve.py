"""`modelport serve`: first-start bootstrap (store, admin key), then the gateway under uvicorn."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from modelport.admin.service import AdminService
from modelport.cli.argv_secrets import warn_if_on_command_line
from modelport.config import ListenerLimits, Settings, default_data_dir
from modelport.engines.catalog import default_entries
from modelport.errors import ModelportError
from modelport.private_files import private_dir
from modelport.records import Category, DeploymentSpec, KeyScope
from modelport.serving import run_gateway, run_workers
from modelport.store import Store
from modelport.ui.forwarded import parse_proxies
from modelport.usage.metrics import prepare_multiprocess_dir


def bootstrap(settings: Settings) -> str | None:
    """Create the data dir and store; deploy the defaults on an empty store; on the first start, make an
    admin key. Returns that key's token, or None."""
    private_dir(settings.data_dir)  # 0700, tightened (and logged) if an older version left it looser
    store = Store.open(settings.store_url)
    try:
        service = AdminService(store)
        if settings.install_defaults:
            deploy_defaults(service)
        if service.has_admin_key():
            return None
        _, token = service.create_key("admin", KeyScope.ADMIN)
    finally:
        store.close()
    _write_secret(settings.admin_key_file, token)
    return token


def deploy_defaults(service: AdminService) -> None:
    """With no deployments yet, deploy the catalog's default models that can run here."""
    listing = service.store.read_deployments()
    if listing.deployments or listing.unreadable:  # an unreadable row is still a deployment someone made
        return
    for entry in default_entries():
        ready, why, hint = entry.readiness()
        if not ready:
            click.echo(f"not deploying {entry.name}: {why}; {hint}", err=True)
            continue
        category = Category(entry.categories[0])
        # Our own workers are safe to expose through /model/proxy (TEI's /embed and /rerank, /v1/tokenize).
        spec = DeploymentSpec(
            name=entry.name,
            category=category,
            engine=entry.engine,
            model=entry.name,
            generic_proxy=category in (Category.EMBEDDING, Category.RERANKER),
        )
        try:
            service.deploy(spec)
        except ModelportError as error:
            click.echo(f"not deploying {entry.name}: {error.message}", err=True)
            continue
        click.echo(f"deployed {entry.name} ({entry.engine})", err=True)


def _proxies(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    try:
        parse_proxies(values)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    return values


def _write_secret(key_file: Path, token: str) -> None:
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    os.chmod(key_file, 0o600)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    envvar="MODELPORT_DATA_DIR",
    help="Store, admin key and instance logs (default ~/.modelport).",
)
@click.option(
    "--database-url",
    envvar="MODELPORT_DATABASE_URL",
    callback=warn_if_on_command_line,
    help="PostgreSQL URL to share the store between gateways (default: SQLite in the data dir).",
)
@click.option("--no-defaults", is_flag=True, help="Do not deploy the built-in models on an empty store.")
@click.option("--max-upload-mb", default=100, show_default=True, type=int, help="Largest request body.")
@click.option(
    "--drain-seconds", default=30.0, show_default=True, help="Grace period for in-flight requests on SIGTERM."
)
@click.option("--probe-seconds", default=5.0, show_default=True, help="Interval of instance health probes.")
@click.option(
    "--ping-seconds",
    default=10.0,
    show_default=True,
    help="Keep-alive `ping` events on /v1/messages streams while the model is silent.",
)
@click.option(
    "--max-rerank-documents",
    default=1000,
    show_default=True,
    type=int,
    help="Most documents one rerank request may carry.",
)
@click.option("--responses-ttl-days", default=30.0, show_default=True, type=click.FloatRange(0.001, 3650),
              help="Days a /v1/responses answer stays retrievable (and continuable) when stored.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Gateway processes sharing the port (one per core is a good start).",
)
@click.option("--max-head-kb", default=64, show_default=True, type=click.IntRange(1, 1024),
              help="Largest request head (request line and headers); 431 past it.")
@click.option("--head-timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds a client has to send a whole request head; 408 past it.")
@click.option("--body-timeout", default=60.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds a request body may stall while the gateway waits for it; 408 past it.")
@click.option("--write-timeout", default=120.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds a client may leave an answer unread before its connection is dropped.")
@click.option("--max-connections", default=4096, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Open client connections per gateway process; 503 past it.")
@click.option("--cors-origin", "cors_origins", multiple=True, metavar="ORIGIN",
              help="A browser origin (https://app.example.com, or *) allowed to call the API. Repeatable; "
                   "none: CORS off.")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="HOST",
              help="A Host header value to accept (e.g. models.example.com or models.example.com:8080); "
                   "others get a 400. Repeatable; none: any.")
@click.option("--trusted-proxy", "trusted_proxies", multiple=True, metavar="ADDRESS", callback=_proxies,
              help="A reverse proxy (address or network, e.g. 10.0.0.7 or 10.0.0.0/8) whose X-Forwarded-For "
                   "and X-Forwarded-Proto the web UI believes: the client address failed sign-ins count "
                   "under, and a Secure session cookie when the proxy says https. Repeatable; none: no proxy.")
@click.option("--access-log", type=click.Choice(["text", "json", "off"]), default="text", show_default=True,
              help="One line per request on stderr (key id, deployment, status, bytes, timings; never a secret).")
@click.option("--metrics-token", envvar="MODELPORT_METRICS_TOKEN", callback=warn_if_on_command_line,
              help="A bearer token that may read /metrics (admin keys always may).")
@click.option("--metrics-public", is_flag=True,
              help="/metrics needs no token from loopback and private (internal) addresses.")
@click.option("--usage-flush-seconds", default=2.0, show_default=True, type=click.FloatRange(0.05, 3600),
              help="How often usage records are written to the store (a crash loses at most this much).")
@click.option("--usage-retention-days", default=90.0, show_default=True, type=click.FloatRange(0.01),
              help="How long one row per request is kept (daily sums are kept for good).")
@click.option("--placement", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where managed instances run: this machine, or a Ray cluster (needs modelport[ray]).")
@click.option("--ray-address", envvar="RAY_ADDRESS", help="--placement ray: the cluster, e.g. 10.0.0.2:6379.")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def serve(
    host: str,
    port: int,
    data_dir: Path | None,
    database_url: str | None,
    no_defaults: bool,
    max_upload_mb: int,
    drain_seconds: float,
    probe_seconds: float,
    ping_seconds: float,
    max_rerank_documents: int,
    responses_ttl_days: float,
    workers: int,
    max_head_kb: int,
    head_timeout: float,
    body_timeout: float,
    write_timeout: float,
    max_connections: int,
    cors_origins: tuple[str, ...],
    allowed_hosts: tuple[str, ...],
    trusted_proxies: tuple[str, ...],
    access_log: str,
    metrics_token: str | None,
    metrics_public: bool,
    usage_flush_seconds: float,
    usage_retention_days: float,
    placement: str,
    ray_address: str | None,
    log_level: str,
) -> None:
    """Run the gateway and the supervisor of its instances."""
    settings = Settings(
        host=host,
        port=port,
        data_dir=(data_dir or default_data_dir()).resolve(),
        database_url=database_url,
        install_defaults=not no_defaults,
        max_request_bytes=max_upload_mb * 1024 * 1024,
        drain_seconds=drain_seconds,
        probe_seconds=probe_seconds,
        ping_seconds=ping_seconds,
        log_level=log_level,
        max_rerank_documents=max_rerank_documents,
        responses_ttl_seconds=responses_ttl_days * 86400,
        workers=workers,
        listener=ListenerLimits(max_head_bytes=max_head_kb * 1024, head_seconds=head_timeout,
                                body_seconds=body_timeout, write_seconds=write_timeout,
                                max_connections=max_connections),
        cors_origins=cors_origins,
        allowed_hosts=allowed_hosts,
        trusted_proxies=trusted_proxies,
        access_log=access_log,
        metrics_token=metrics_token,
        metrics_public=metrics_public,
        usage_flush_seconds=usage_flush_seconds,
        usage_retention_days=usage_retention_days,
        placement=placement,
        ray_address=ray_address,
    )
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    token = bootstrap(settings)
    if token is not None:
        click.echo(f"Admin API key (shown once; also saved to {settings.admin_key_file}, mode 0600):\n  {token}")
    click.echo(f"modelport listening on http://{host}:{port}", err=True)
    if workers > 1:
        prepare_multiprocess_dir(settings.data_dir)  # the workers' metrics are summed (modelport.usage.metrics)
        run_workers(settings)
    else:
        run_gateway(settings)
