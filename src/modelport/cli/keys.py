"""`modelport keys create|list|revoke`."""

from __future__ import annotations

import click

from modelport.admin.client import AdminClient
from modelport.cli.common import pass_admin
from modelport.records import KeyScope


@click.group()
def keys() -> None:
    """API keys: create (the secret is shown once), list, revoke."""


@keys.command("create")
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option("--scope", type=click.Choice([s.value for s in KeyScope]), default="inference", show_default=True,
              help="inference: call models (/v1). admin: also manage keys and deployments (/api).")
@click.option("--models", help="Comma-separated deployment names this key may use (default: all).")
@click.option("--expires-in", help="Lifetime, e.g. 30d, 12h, 15m (default: never expires).")
@pass_admin
def create_key(admin: AdminClient, name: str, scope: str, models: str | None, expires_in: str | None) -> None:
    """Create a key and print its secret. It is shown this once and never again."""
    allowed = [m.strip() for m in models.split(",") if m.strip()] if models else None
    created = admin.create_key(name, KeyScope(scope), allowed, expires_in)
    click.echo(created["key"])
    click.echo(f"id {created['id']}  scope {created['scope']}  (store the key now: it is not shown again)", err=True)


@keys.command("list")
@pass_admin
def list_keys(admin: AdminClient) -> None:
    """One line per key: id, name, scope, models, expiry, state."""
    for key in admin.list_keys():
        models = ",".join(key["models"]) if key["models"] is not None else "*"
        state = "revoked" if key["revoked_at"] else "active"
        expires = key["expires_at"] or "never"
        click.echo(f"{key['id']}  {key['name']}  scope={key['scope']}  models={models}  expires={expires}  {state}")


@keys.command("revoke")
@click.argument("key_id")
@pass_admin
def revoke_key(admin: AdminClient, key_id: str) -> None:
    """Revoke a key by id; requests with it fail within a second."""
    admin.revoke_key(key_id)
    click.echo(f"revoked {key_id}")
