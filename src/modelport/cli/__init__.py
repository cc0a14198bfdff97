"""The `modelport` command. One module per command group; this one only assembles them."""

from __future__ import annotations

import click

from modelport import __version__
from modelport.cli.deployments import deploy, deployments, logs, undeploy
from modelport.cli.keys import keys
from modelport.cli.models import models
from modelport.cli.nodes import nodes
from modelport.cli.serve import serve
from modelport.cli.usage import usage
from modelport.cli.worker import worker


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="modelport")
def main() -> None:
    """modelport: every model your team runs, behind one port.

    \b
    Start here:
      modelport serve                      start the gateway (prints an admin key on first start)
      modelport deploy NAME --url URL      route NAME to an OpenAI-compatible server
      modelport keys create --name app     make an API key for an application
      modelport deployments                what is deployed and whether it is ready
      modelport nodes                      this machine's CPUs, memory and GPUs, and what runs there
      modelport usage --by key             requests and tokens per key (last 7 days)

    Commands that change things work on the data dir directly (default ~/.modelport, or
    $MODELPORT_DATA_DIR), or on a running server with --server URL --key ADMIN_KEY
    (or $MODELPORT_URL and $MODELPORT_API_KEY).
    """


main.add_command(serve)
main.add_command(keys)
main.add_command(deploy)
main.add_command(undeploy)
main.add_command(deployments)
main.add_command(models)
main.add_command(logs)
main.add_command(worker)
main.add_command(usage)
main.add_command(nodes)
