"""A warning when a secret is given on the command line: every local user can read a process's arguments
(`ps`), and Ray shows each driver's command line as its job's entrypoint (`ray list jobs`, the dashboard)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import click
from click.core import ParameterSource


def warn_if_on_command_line(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """A click callback for an option that carries a secret: warn on stderr (never echoing it) when it came
    from the command line, naming the environment variable that keeps it out of sight."""
    if value and param.name and ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE \
            and holds_secret(param.name, value):
        flag = param.opts[0] if param.opts else param.name
        instead = f"set {param.envvar} instead" if isinstance(param.envvar, str) else "pass it another way"
        click.echo(f"warning: {flag} is on the command line, where other local users (ps) and Ray's job list "
                   f"can read it; {instead}.", err=True)
    return value


def holds_secret(name: str, value: str) -> bool:
    """Whether option `name`'s `value` is a secret: a token, or a database URL with a password in it."""
    if name != "database_url":
        return True
    try:
        return urlsplit(value).password is not None
    except ValueError:
        return False
