"""`modelport deploy --cpus --gpus --memory --resource` stores the resources on the deployment; `modelport
nodes` shows this machine and what runs there, from the store and through a running server."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from tests.harness import LiveGateway

COMMAND = f"{sys.executable} -m modelport.testing --port {{port}} --model {{name}} --api-key {{secret}}"


def test_resources_are_stored_and_nodes_lists_this_machine_and_its_instances(fresh_gateway: LiveGateway) -> None:
    gateway = fresh_gateway.start()
    gateway.cli("deploy", "small", "--command", COMMAND, "--cpus", "0.5", "--memory", "64MiB", remote=True)
    gateway.cli("deploy", "gpu-one", "--command", COMMAND, "--gpus", "1", "--resource", "accel=2")
    spec = gateway.api("GET", "/api/deployments/gpu-one").json()
    assert spec["resources"] == {"cpus": 0.0, "gpus": 1, "memory_bytes": 0, "custom": {"accel": 2.0}}
    gateway.wait_ready("small", timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        (instance,) = gateway.api("GET", "/api/deployments/gpu-one").json()["instances"] or [{"state": ""}]
        if instance["state"] == "pending" and "GPU" in instance["reason"]:
            break
        time.sleep(0.1)
    assert instance["reason"].startswith("needs 1 GPU, accel=2: node ") and "cannot give 1 GPU (it has 0" in \
        instance["reason"], instance

    listing = json.loads(gateway.cli("nodes", "--json").stdout)
    through_server = gateway.api("GET", "/api/nodes").json()["data"]
    for nodes in (listing, through_server):
        (node,) = nodes
        assert node["local"] and node["cpus"] == len(os.sched_getaffinity(0)) and node["memory_bytes"] > 0
        assert node["gpus"] == [] and node["gpu_problem"]  # no NVIDIA driver on this machine
        running = {(i["deployment"], i["state"]) for i in node["instances"]}
        assert ("small", "ready") in running and ("gpu-one", "pending") in running
        assert node["allocated"]["cpus"] == 0.5 and node["allocated"]["memory_bytes"] == 64 * 2**20
    text = gateway.cli("nodes", remote=True).stdout
    assert "CPUs" in text and "small#0 ready" in text and "asks 0.5 CPUs, 0.1 GiB" in text, text


def test_resources_out_of_bounds_are_refused(tmp_path: Path) -> None:
    gateway = LiveGateway(tmp_path / "gw")
    for args, message in [(("--memory", "8 parsecs"), "not a size"), (("--resource", "accel"), "NAME=AMOUNT"),
                          (("--resource", "GPU=1"), "Invalid resource name"), (("--gpus", "-1"), "-1")]:
        result = gateway.cli("deploy", "bad", "--command", COMMAND, *args, check=False)
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr)
    refused = gateway.cli("deploy", "remote-one", "--url", "http://127.0.0.1:9/v1", "--gpus", "1", check=False)
    assert refused.returncode == 1 and "not remote URLs" in refused.stderr
