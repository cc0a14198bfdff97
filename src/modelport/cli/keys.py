"""`modelport keys create|list|show|update|revoke`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from modelport.admin.client import AdminClient
from modelport.admin.schemas import LimitsIn
from modelport.admin.service import parse_duration
from modelport.cli.common import pass_admin
from modelport.quota.parse import LimitChanges, apply_changes
from modelport.records import KeyLimits, KeyScope

LIMIT_HELP = {
    "rpm": "Requests per minute (sliding 60 s window); `none` clears.",
    "tpm": "Tokens (input + output) per minute; reserved at admission, settled on the real count.",
    "concurrency": "Requests in flight at once.",
    "budget_tokens": "A token budget: N/day, N/month or N/total (e.g. 1000000/month, 50k/day); `none` clears.",
    "budget_expires_in": "The budget ends after this long (e.g. 90d): requests are then refused.",
    "limit": "Limits for one deployment through this key: NAME=rpm:N,tpm:N,concurrency:N,budget:N/PERIOD, "
             "or NAME=none (repeatable).",
}
NO_LIMITS = "no limits"


def limit_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The limit flags `keys create` and `keys update` share."""
    options = [
        click.option("--rpm", help=LIMIT_HELP["rpm"]),
        click.option("--tpm", help=LIMIT_HELP["tpm"]),
        click.option("--concurrency", help=LIMIT_HELP["concurrency"]),
        click.option("--budget-tokens", help=LIMIT_HELP["budget_tokens"]),
        click.option("--budget-expires-in", help=LIMIT_HELP["budget_expires_in"]),
        click.option("--limit", "scoped", multiple=True, help=LIMIT_HELP["limit"]),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def changes(rpm: str | None, tpm: str | None, concurrency: str | None, budget_tokens: str | None,
            budget_expires_in: str | None, scoped: tuple[str, ...]) -> LimitChanges:
    expires = datetime.now(UTC) + parse_duration(budget_expires_in) if budget_expires_in else None
    return LimitChanges(rpm, tpm, concurrency, budget_tokens, expires, scoped)


@click.group()
def keys() -> None:
    """API keys: create (the secret is shown once), list, show, update limits, defaults, revoke."""


@keys.command("create")
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option("--scope", type=click.Choice([s.value for s in KeyScope]), default="inference", show_default=True,
              help="inference: call models (/v1). admin: also manage keys and deployments (/api).")
@click.option("--models", help="Comma-separated deployment names this key may use (default: all).")
@click.option("--expires-in", help="Lifetime, e.g. 30d, 12h, 15m (default: never expires).")
@limit_options
@pass_admin
def create_key(admin: AdminClient, name: str, scope: str, models: str | None, expires_in: str | None,
               **limits: Any) -> None:
    """Create a key and print its secret. It is shown this once and never again."""
    allowed = [m.strip() for m in models.split(",") if m.strip()] if models else None
    created = admin.create_key(name, KeyScope(scope), allowed, expires_in, apply_changes(KeyLimits(),
                                                                                         changes(**limits)))
    click.echo(created["key"])
    click.echo(f"id {created['id']}  scope {created['scope']}  (store the key now: it is not shown again)", err=True)


@keys.command("update")
@click.argument("key_id")
@limit_options
@pass_admin
def update_key(admin: AdminClient, key_id: str, **limits: Any) -> None:
    """Change a key's limits; those not named stay as they are. Effective within a second."""
    current = LimitsIn.model_validate(admin.get_key(key_id)["limits"]).to_key_limits()
    updated = admin.set_key_limits(key_id, apply_changes(current, changes(**limits)))
    click.echo(f"{key_id}  {limits_text(updated['limits'])}")


@keys.command("defaults")
@limit_options
@pass_admin
def key_defaults(admin: AdminClient, **limits: Any) -> None:
    """Show, or change with the limit flags, the limits of keys without limits of their own."""
    wanted = changes(**limits)
    if wanted != LimitChanges():
        current = LimitsIn.model_validate(admin.limit_defaults()).to_key_limits()
        admin.set_limit_defaults(apply_changes(current, wanted))
    click.echo(f"defaults: {limits_text(admin.limit_defaults())}")


@keys.command("list")
@pass_admin
def list_keys(admin: AdminClient) -> None:
    """One line per key: id, name, scope, models, expiry, limits, state."""
    for key in admin.list_keys():
        models = ",".join(key["models"]) if key["models"] is not None else "*"
        state = "revoked" if key["revoked_at"] else "active"
        expires = key["expires_at"] or "never"
        limits = limits_text(key["limits"])
        shown = "" if limits == NO_LIMITS else f"  {limits}"
        click.echo(f"{key['id']}  {key['name']}  scope={key['scope']}  models={models}  expires={expires}{shown}"
                   f"  {state}")


@keys.command("show")
@click.argument("key_id")
@pass_admin
def show_key(admin: AdminClient, key_id: str) -> None:
    """A key, its limits, and where each stands now."""
    key = admin.get_key(key_id)
    state = "revoked" if key["revoked_at"] else "active"
    click.echo(f"{key['id']}  {key['name']}  scope={key['scope']}  {state}  expires={key['expires_at'] or 'never'}")
    own = limits_text(key["limits"])
    click.echo(f"limits: {own}" if own != NO_LIMITS else f"limits: none of its own, so the defaults: "
               f"{limits_text(admin.limit_defaults())}")
    for standing in key["usage"]:
        click.echo(f"  {standing['deployment'] or 'all deployments'}:")
        for line in standing_lines(standing):
            click.echo(f"    {line}")


def limits_text(limits: dict[str, Any]) -> str:
    """`rpm=60 tpm=100000 concurrency=4 budget=1000000/month qwen3[rpm=10]`, or `no limits`."""
    parts = [_scope_text(limits)] + [f"{name}[{_scope_text(scoped)}]" for name, scoped in limits["deployments"].items()]
    return " ".join(part for part in parts if part) or NO_LIMITS


def _scope_text(limits: dict[str, Any]) -> str:
    parts = [f"{name}={limits[name]}" for name in ("rpm", "tpm", "concurrency") if limits[name] is not None]
    budget = limits["budget"]
    if budget is not None:
        until = f" until {budget['expires_at']}" if budget["expires_at"] else ""
        parts.append(f"budget={budget['tokens']}/{budget['period']}{until}")
    return " ".join(parts)


def standing_lines(standing: dict[str, Any]) -> list[str]:
    """What `keys show` prints for one scope."""
    lines = []
    for name, label in (("requests_per_minute", "requests/min"), ("tokens_per_minute", "tokens/min")):
        if name in standing:
            part = standing[name]
            lines.append(f"{label:<13} {part['used']:>10,} of {part['limit']:,}  ({part['remaining']:,} left)")
    if "concurrency" in standing:
        part = standing["concurrency"]
        lines.append(f"{'in flight':<13} {part['in_flight']:>10,} of {part['limit']:,}")
    if "budget" in standing:
        part = standing["budget"]
        renews = f"renews {part['renews_at']}" if part["renews_at"] else "never renews"
        lines.append(f"{'budget':<13} {part['used']:>10,} of {part['limit']:,} per {part['period']}  "
                     f"({part['remaining']:,} left, {renews})")
    return lines


@keys.command("revoke")
@click.argument("key_id")
@pass_admin
def revoke_key(admin: AdminClient, key_id: str) -> None:
    """Revoke a key by id; requests with it fail within a second."""
    admin.revoke_key(key_id)
    click.echo(f"revoked {key_id}")
