"""`modelport nodes`: the machines instances run on, what they have and what runs there."""

from __future__ import annotations

import json
from typing import Any

import click

from modelport.admin.client import AdminClient
from modelport.cli.common import pass_admin
from modelport.instances.resources import describe
from modelport.records import Resources


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@pass_admin
def nodes(admin: AdminClient, as_json: bool) -> None:
    """Each node with its CPUs, memory and GPUs, and the instances that run there.

    This machine (or the --server's) is described from itself; other nodes by the instances recorded there.
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
    if not node["local"]:
        return f"{node['name']}  (known from its instances)  allocated: {allocated}"
    memory = node["memory_bytes"] / 2**30
    return f"{node['name']}  {node['cpus']:g} CPUs, {memory:.1f} GiB, {len(node['gpus'])} GPUs  allocated: {allocated}"
