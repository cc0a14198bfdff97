"""What instances ask of a node (`--cpus --gpus --memory --resource`): parsing, bounds, and how they read."""

from __future__ import annotations

import math
import re

from modelport.errors import BadRequest
from modelport.records import DeploymentSpec, Resources

MAX_CUSTOM_RESOURCES = 16
MAX_AMOUNT = 1_000_000.0  # CPUs, GPUs or custom units: far beyond any node
MAX_MEMORY_BYTES = 1 << 50  # 1 PiB
_RESOURCE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")
_RESERVED = frozenset({"CPU", "GPU", "memory", "object_store_memory"})  # Ray's own names
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20,
          "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12, "tib": 2**40}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*")


def parse_memory(text: str) -> int:
    """Bytes in `8GiB`, `512MiB`, `8G` (10^9) or a plain number of bytes; ValueError otherwise."""
    match = _SIZE.fullmatch(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ValueError(f"{text!r} is not a size such as 8GiB, 512MiB or 2G")
    return int(float(match.group(1)) * _UNITS[unit])


def parse_custom(items: tuple[str, ...] | list[str]) -> dict[str, float]:
    """`name=amount` pairs; ValueError on one that is not."""
    custom: dict[str, float] = {}
    for item in items:
        name, sep, amount = item.partition("=")
        try:
            if not sep:
                raise ValueError
            custom[name.strip()] = float(amount)
        except ValueError:
            raise ValueError(f"{item!r}: expected NAME=AMOUNT with a number") from None
    return custom


def check_resources(spec: DeploymentSpec) -> None:
    """400 for resources out of bounds, custom names Ray would not take, or resources on a remote URL."""
    wanted = spec.resources
    if wanted.is_empty:
        return
    if spec.is_remote:
        raise BadRequest("`resources` are for instances modelport runs, not remote URLs.", param="resources")
    _check_amount(wanted.cpus, "cpus")
    _check_amount(float(wanted.gpus), "gpus")
    if not 0 <= wanted.memory_bytes <= MAX_MEMORY_BYTES:
        raise BadRequest(f"`resources.memory_bytes` must be 0 to {MAX_MEMORY_BYTES}.", param="resources.memory_bytes")
    if len(wanted.custom) > MAX_CUSTOM_RESOURCES:
        raise BadRequest(f"At most {MAX_CUSTOM_RESOURCES} custom resources.", param="resources.custom")
    for name, amount in wanted.custom.items():
        if not _RESOURCE_NAME.fullmatch(name) or name in _RESERVED:
            raise BadRequest(f"Invalid resource name `{name[:80]}`: a letter, then letters, digits and _ . : - "
                             "(64 at most), and not CPU, GPU or memory.", param="resources.custom")
        _check_amount(amount, f"custom.{name}")


def _check_amount(amount: float, name: str) -> None:
    if not (math.isfinite(amount) and 0 <= amount <= MAX_AMOUNT):
        raise BadRequest(f"`resources.{name}` must be a number from 0 to {MAX_AMOUNT:g}.", param=f"resources.{name}")


def describe(resources: Resources) -> str:
    """`2 CPUs, 1 GPU, 8.0 GiB, node_b=1` (or `nothing`)."""
    parts = []
    if resources.cpus:
        parts.append(f"{resources.cpus:g} CPU{'s' if resources.cpus != 1 else ''}")
    if resources.gpus:
        parts.append(f"{resources.gpus} GPU{'s' if resources.gpus != 1 else ''}")
    if resources.memory_bytes:
        parts.append(f"{resources.memory_bytes / 2**30:.1f} GiB")
    parts += [f"{name}={amount:g}" for name, amount in sorted(resources.custom.items())]
    return ", ".join(parts) or "nothing"
