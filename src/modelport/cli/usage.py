"""`modelport usage`: the usage ledger's sums as a table, from the store or a running server."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import httpx

from modelport.admin.usage_api import parse_time
from modelport.cli.common import admin_options
from modelport.config import default_data_dir, sqlite_url
from modelport.errors import ModelportError
from modelport.store import Store
from modelport.store.usage import UsageQuery

ALWAYS = ("requests", "errors", "input_tokens", "output_tokens")
SOMETIMES = ("documents", "images", "characters", "audio_seconds")
HEADINGS = {"requests": "requests", "errors": "errors", "input_tokens": "tokens in", "output_tokens": "tokens out",
            "documents": "documents", "images": "images", "characters": "characters", "audio_seconds": "audio s"}


def _fetch(server: str | None, key: str | None, store_url: str, query: UsageQuery,
           params: dict[str, str]) -> list[dict[str, Any]]:
    if server:
        if not key:
            raise click.UsageError("--server needs --key (or $MODELPORT_API_KEY) with an admin key.")
        answer = httpx.get(server.rstrip("/") + "/api/usage", params=params, timeout=60,
                           headers={"authorization": f"Bearer {key}"})
        if answer.status_code != 200:
            raise click.ClickException(f"the server answered {answer.status_code}: {answer.text}")
        return answer.json()["data"]  # type: ignore[no-any-return]
    store = Store.open(store_url)
    try:
        return store.usage.report(query)
    finally:
        store.close()


def _cell(value: Any) -> str:
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def render(rows: list[dict[str, Any]], by: str) -> str:
    """The rows as an aligned table with a total line."""
    columns = [*ALWAYS, *(name for name in SOMETIMES if any(row[name] for row in rows))]
    total = {name: sum(row[name] for row in rows) for name in columns}
    table = [[by, *(HEADINGS[name] for name in columns)]]
    table += [[str(row.get("group") or "-"), *(_cell(row[name]) for name in columns)] for row in rows]
    table.append(["total", *(_cell(total[name]) for name in columns)])
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = [line[0].ljust(widths[0]) + "  " + "  ".join(c.rjust(w) for c, w in zip(line[1:], widths[1:],
                                                                                     strict=True))
             for line in table]
    return "\n".join(lines)


@click.command()
@click.option("--by", type=click.Choice(["day", "hour", "key", "deployment", "endpoint"]), default="day",
              show_default=True, help="One row per day, hour, key id, deployment or endpoint.")
@click.option("--since", default="7d", show_default=True, help="An age (7d, 12h) or an ISO date or time.")
@click.option("--until", help="An age or an ISO date or time (default: now).")
@click.option("--key-id", help="Only this API key (its id, as `keys list` shows).")
@click.option("--deployment", help="Only this deployment.")
@click.option("--endpoint", help="Only this endpoint, e.g. /v1/chat/completions.")
@admin_options
def usage(data_dir: Path | None, database_url: str | None, server: str | None, key: str | None, by: str,
          since: str, until: str | None, key_id: str | None, deployment: str | None, endpoint: str | None) -> None:
    """Requests, tokens and other billed units, summed from the usage ledger."""
    params = {name: value for name, value in (("group", by), ("from", since), ("to", until), ("key", key_id),
                                               ("deployment", deployment), ("endpoint", endpoint)) if value}
    try:
        query = UsageQuery(key_id=key_id, deployment=deployment, endpoint=endpoint,
                           since=parse_time(since, "since"), until=parse_time(until, "until") if until else None,
                           group=by)
        store_url = database_url or sqlite_url(data_dir or default_data_dir())
        rows = _fetch(server, key, store_url, query, params)
    except ModelportError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(1)
    if not rows:
        click.echo("no usage recorded in that range", err=True)
        return
    click.echo(render(rows, by))
