"""Options shared by the admin commands, and how they pick a local or remote admin client."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from modelport.admin.client import AdminClient, LocalAdmin, RemoteAdmin
from modelport.cli.argv_secrets import warn_if_on_command_line
from modelport.config import default_data_dir, sqlite_url
from modelport.errors import ModelportError


def admin_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--data-dir/--database-url (work on the store) or --server/--key (work through a running server)."""
    options = [
        click.option(
            "--data-dir",
            type=click.Path(path_type=Path),
            envvar="MODELPORT_DATA_DIR",
            help="Data directory of the store (default ~/.modelport).",
        ),
        click.option(
            "--database-url",
            envvar="MODELPORT_DATABASE_URL",
            callback=warn_if_on_command_line,
            help="Store URL, e.g. postgresql://user@host/db (default: SQLite in the data dir).",
        ),
        click.option("--server", envvar="MODELPORT_URL", help="A running server, e.g. http://127.0.0.1:8080."),
        click.option("--key", envvar="MODELPORT_API_KEY", callback=warn_if_on_command_line,
                     help="Admin key for --server (MODELPORT_API_KEY keeps it out of the process list)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@contextmanager
def admin_client(
    data_dir: Path | None, database_url: str | None, server: str | None, key: str | None
) -> Iterator[AdminClient]:
    """The client the options ask for; errors become a one-line message and exit status 1."""
    try:
        if server:
            if not key:
                raise click.UsageError("--server needs --key (or $MODELPORT_API_KEY) with an admin key.")
            client: AdminClient = RemoteAdmin(server, key)
        else:
            folder = data_dir or default_data_dir()
            client = LocalAdmin(database_url or sqlite_url(folder), logs_dir=folder / "logs")
        try:
            yield client
        finally:
            client.close()
    except ModelportError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(1)


def pass_admin(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds the admin options and hands the command an `admin` client instead of them."""

    @functools.wraps(command)
    def wrapper(
        data_dir: Path | None, database_url: str | None, server: str | None, key: str | None, **kwargs: Any
    ) -> Any:
        with admin_client(data_dir, database_url, server, key) as admin:
            return command(admin=admin, **kwargs)

    return admin_options(wrapper)
