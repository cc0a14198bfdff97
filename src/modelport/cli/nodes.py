"""`modelport nodes`: the machines instances run on, what they have and what runs there."""

from __future__ import annotations

import json
from typing import Any

import click

from modelport.admin.client import AdminClient
from modelport.cli.common import pass_admin
from modelport.instances.resources import describe
from modelport.records import Resources

RAY_FIRST = {"CPU": 0, "GPU": 1, "memory": 2, "object_store_memory": 3}  # then custom resources, by name


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@pass_admin
def nodes(admin: AdminClient, as_json: bool) -> None:
    """Each node with its CPUs, memory and GPUs, and the instances that run there.

    This machine (or the --server's) is described from itself; other nodes by the instances recorded there.
    A server with --placement ray lists the nodes of its Ray cluster, with their resources as Ray counts them
    (available/total).
    """
    listing = admin.nodes()
    if as_json:
        click.echo(json.dumps(listing, indent=2))
        return
    for node in listing:
        click.echo(_node_line(node))
        if node["gpu_problem"] and not node["gpus"]:
            click.echo(f"  no GPUs: {node['gpu_problem']}")
        for gpu in node["gpus"]:
            used = f"  given to {gpu['used_by']}" if gpu["used_by"] else "  free"
            click.echo(f"  GPU {gpu['index']} {gpu['name']} {gpu['uuid']}  {gpu['memory_used_mib']}/"
                       f"{gpu['memory_total_mib']} MiB used{used}")
        for instance in node["instances"]:
            asked = describe(Resources(**instance["resources"]))
            gpus = f"  CUDA_VISIBLE_DEVICES={','.join(instance['gpus'])}" if instance["gpus"] else ""
            click.echo(f"  {instance['deployment']}#{instance['ordinal']} {instance['state']:<10} asks {asked}{gpus}")


def _node_line(node: dict[str, Any]) -> str:
    allocated = describe(Resources(**node["allocated"]))
    if node["placement"] == "ray":
        return _ray_node_line(node, allocated)
    if not node["local"]:
        return f"{node['name']}  (known from its instances)  allocated: {allocated}"
    memory = node["memory_bytes"] / 2**30
    return f"{node['name']}  {node['cpus']:g} CPUs, {memory:.1f} GiB, {len(node['gpus'])} GPUs  allocated: {allocated}"


def _ray_node_line(node: dict[str, Any], allocated: str) -> str:
    total, available = node["resources_total"], node["resources_available"]
    if not total:
        return f"{node['name']}  (Ray no longer lists it; known from its instances)  allocated: {allocated}"
    shown = [f"{name} {_amount(name, available.get(name, 0.0))}/{_amount(name, amount)}"
             for name, amount in sorted(total.items(), key=lambda item: (RAY_FIRST.get(item[0], 9), item[0]))]
    return f"{node['name']}  Ray node  {', '.join(shown)} available  allocated: {allocated}"


def _amount(name: str, amount: float) -> str:
    return f"{amount / 2**30:.1f} GiB" if name in ("memory", "object_store_memory") else f"{amount:g}"
