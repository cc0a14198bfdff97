"""`modelport deploy --wait`: follow a deployment's instances until ready, with a bar while downloading."""

from __future__ import annotations

import re
import time

import click

from modelport.admin.client import AdminClient

POLL_SECONDS = 0.5
WAIT_SECONDS = 6 * 3600.0
_PERCENT = re.compile(r"^downloading (\d{1,3})%")
BAR_WIDTH = 30


def wait_until_ready(admin: AdminClient, name: str, timeout: float = WAIT_SECONDS) -> bool:
    """True once every instance of `name` is ready; False (having said why) when one failed."""
    deadline, shown = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        item = next((d for d in admin.deployments()["data"] if d["name"] == name), None)
        if item is None:
            click.echo(f"\n{name} was removed", err=True)
            return False
        instances = item["instances"]
        failed = [i for i in instances if i["state"] == "failed"]
        if failed:
            click.echo(f"\n#{failed[0]['ordinal']} failed: {failed[0]['reason']}", err=True)
            return False
        if instances and all(i["state"] == "ready" for i in instances):
            click.echo(f"\n{name} is ready")
            return True
        line = status_line(instances)
        if line != shown:
            click.echo(f"\r{line:<100}", nl=False)
            shown = line
        time.sleep(POLL_SECONDS)
    click.echo(f"\n{name} was not ready within {timeout:g} s", err=True)
    return False


def status_line(instances: list[dict[str, object]]) -> str:
    """The first instance not ready yet: a bar for a download, else its state and reason."""
    waiting = next((i for i in instances if i["state"] != "ready"), None)
    if waiting is None:
        return "waiting for the first instance"
    reason = str(waiting["reason"])
    match = _PERCENT.match(reason)
    if match is None:
        return f"{waiting['state']}: {reason}"[:100]
    filled = BAR_WIDTH * min(100, int(match.group(1))) // 100
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {reason.removeprefix('downloading ')}"[:100]
