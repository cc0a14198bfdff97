"""Bounds on what the admin API and the CLI accept: finite, bounded numbers, bounded lists and strings, and
no control characters (nothing an admin sends may split a header line, a log line or a command line).

Each check raises `BadRequest` naming the field, as the API spells it (`timeouts.first_byte`, `urls`)."""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import fields
from datetime import timedelta

from modelport.errors import BadRequest
from modelport.records import DeploymentSpec, Timeouts

MAX_TIMEOUT_SECONDS = 7 * 86400.0
MAX_REPLICAS = 64
MAX_URLS = 64
MAX_ALIASES = 64
MAX_ENGINE_ARGS = 128
MAX_COMMAND_PARTS = 256
MAX_NAME = 128  # deployment names and aliases (a key's allow-list names them too)
MAX_KEY_NAME = 200  # the `api_keys.name` column
MAX_KEY_MODELS = 1024
MAX_KEY_LIFETIME = timedelta(days=100 * 366)
MAX_SHORT_TEXT = 256  # engine, upstream_model, engine_args keys
MAX_TEXT = 4096  # URLs, paths, models, upstream keys, command parts, engine_args values
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEADER_TOKEN = re.compile(r"[\x21-\x7e]+")  # visible ASCII: what a bearer token may hold


def check_text(value: str | None, param: str, limit: int = MAX_TEXT) -> None:
    """At most `limit` characters and no control characters (None passes)."""
    if value is None:
        return
    if len(value) > limit:
        raise BadRequest(f"`{param}` is longer than {limit} characters.", param=param)
    if _CONTROL.search(value):
        raise BadRequest(f"`{param}` holds a control character (such as a newline).", param=param)


def check_count(items: Collection[object], param: str, limit: int) -> None:
    """At most `limit` items."""
    if len(items) > limit:
        raise BadRequest(f"`{param}` lists {len(items)} items; at most {limit} are allowed.", param=param)


def check_timeouts(timeouts: Timeouts) -> None:
    """Each timeout a finite number of seconds, above 0 and at most `MAX_TIMEOUT_SECONDS`."""
    for field in fields(Timeouts):
        value = getattr(timeouts, field.name)
        if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT_SECONDS):
            raise BadRequest(
                f"`timeouts.{field.name}` must be a number of seconds above 0 and at most "
                f"{MAX_TIMEOUT_SECONDS:.0f} (7 days), not {value}.",
                param=f"timeouts.{field.name}",
            )


def check_spec_bounds(spec: DeploymentSpec) -> None:
    """Every size and count of a deployment spec within its bound, every string free of control characters."""
    check_text(spec.name, "name", MAX_NAME)
    check_count(spec.urls, "urls", MAX_URLS)
    for url in spec.urls:
        check_text(url, "urls")
    check_count(spec.aliases, "aliases", MAX_ALIASES)
    for alias in spec.aliases:
        check_text(alias, "aliases", MAX_NAME)
    if spec.upstream_key is not None and not (len(spec.upstream_key) <= MAX_TEXT
                                              and _HEADER_TOKEN.fullmatch(spec.upstream_key)):
        raise BadRequest(f"`upstream_key` must be 1 to {MAX_TEXT} visible ASCII characters, no spaces.",
                         param="upstream_key")
    check_text(spec.upstream_model, "upstream_model", MAX_SHORT_TEXT)
    check_text(spec.health_path, "health_path")
    if " " in spec.health_path:
        raise BadRequest("`health_path` holds a space.", param="health_path")
    check_text(spec.engine, "engine", MAX_SHORT_TEXT)
    check_text(spec.model, "model")
    check_count(spec.command or (), "command", MAX_COMMAND_PARTS)
    for part in spec.command or ():
        check_text(part, "command")
    check_count(spec.engine_args, "engine_args", MAX_ENGINE_ARGS)
    for key, value in spec.engine_args.items():
        check_text(key, "engine_args", MAX_SHORT_TEXT)
        check_text(value, "engine_args")
    if not 1 <= spec.replicas <= MAX_REPLICAS:
        raise BadRequest(f"`replicas` must be 1 to {MAX_REPLICAS}, not {spec.replicas}.", param="replicas")
    check_timeouts(spec.timeouts)


def check_key_bounds(name: str, models: Collection[str] | None, lifetime: timedelta | None) -> None:
    """A key's name, allow-list and lifetime within their bounds."""
    check_text(name, "name", MAX_KEY_NAME)
    check_count(models or (), "models", MAX_KEY_MODELS)
    for model in models or ():
        check_text(model, "models", MAX_NAME)
    if lifetime is not None and lifetime > MAX_KEY_LIFETIME:
        raise BadRequest("`expires_in` is more than 100 years; omit it for a key that never expires.",
                         param="expires_in")
