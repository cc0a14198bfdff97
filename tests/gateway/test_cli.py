"""The admin commands, on the data dir and through a running server."""

from __future__ import annotations

import httpx
import pytest

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway


@pytest.mark.parametrize("remote", [False, True], ids=["data-dir", "server"])
def test_keys_lifecycle(gateway: LiveGateway, remote: bool) -> None:
    created = gateway.cli("keys", "create", "--name", "cli-app", "--models", "fake-model", "--expires-in", "30d",
                          remote=remote)
    token = created.stdout.strip()
    assert token.startswith("mp-") and "not shown again" in created.stderr
    key_id = token.split("-")[1]
    listing = gateway.cli("keys", "list", remote=remote).stdout
    line = next(line for line in listing.splitlines() if line.startswith(key_id))
    assert "cli-app" in line and "models=fake-model" in line and token.split("-", 2)[2] not in listing
    headers = {"authorization": f"Bearer {token}"}
    body = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(gateway.v1 + "/chat/completions", json=body, headers=headers).status_code == 200
    gateway.cli("keys", "revoke", key_id, remote=remote)
    listing = gateway.cli("keys", "list", remote=remote).stdout
    assert next(line for line in listing.splitlines() if line.startswith(key_id)).endswith("revoked")


@pytest.mark.parametrize("remote", [False, True], ids=["data-dir", "server"])
def test_deploy_lifecycle(gateway: LiveGateway, fake: FakeUpstream, remote: bool) -> None:
    name = f"cli-deployed-{remote}"
    gateway.cli("deploy", name, "--url", fake.url, "--upstream-model", "fake-model", "--category", "llm",
                remote=remote)
    gateway.wait_ready(name)
    shown = gateway.cli("deployments", remote=remote).stdout
    assert name in shown and "ready" in shown
    duplicate = gateway.cli("deploy", name, "--url", fake.url, remote=remote, check=False)
    assert duplicate.returncode == 1 and "error:" in duplicate.stderr
    gateway.cli("undeploy", name, remote=remote)
    assert name not in gateway.cli("deployments", remote=remote).stdout


def test_bad_input_gives_a_one_line_error(gateway: LiveGateway) -> None:
    result = gateway.cli("deploy", "x", "--url", "ftp://nope", check=False)
    assert result.returncode == 1 and result.stderr.startswith("error:")
    result = gateway.cli("keys", "create", "--name", "x", "--expires-in", "soon", check=False)
    assert result.returncode == 1 and "duration" in result.stderr
    result = gateway.cli("undeploy", "never-was", check=False)
    assert result.returncode == 1


def test_server_mode_needs_an_admin_key(gateway: LiveGateway) -> None:
    inference_key = gateway.create_key("not-admin")
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "modelport", "keys", "list", "--server", gateway.url, "--key",
                             inference_key], capture_output=True, text=True)
    assert result.returncode == 1 and "scope" in result.stderr


def test_deploy_with_timeouts(gateway: LiveGateway, fake: FakeUpstream) -> None:
    gateway.cli("deploy", "timed", "--url", fake.url, "--upstream-model", "fake-model", "--timeout", "first_byte=0.5",
                "--timeout", "idle=7")
    spec = gateway.api("GET", "/api/deployments/timed").json()
    assert spec["timeouts"]["first_byte"] == 0.5 and spec["timeouts"]["idle"] == 7
    gateway.wait_ready("timed")
    slow = httpx.post(gateway.v1 + "/chat/completions", json={"model": "timed", "messages": []},
                      headers={"authorization": f"Bearer {gateway.admin_key}", "x-fake-delay-ms": "2000"})
    assert slow.status_code == 504
    bad = gateway.cli("deploy", "bad-timeout", "--url", fake.url, "--timeout", "forever=1", check=False)
    assert bad.returncode != 0 and "unknown timeout" in bad.stderr
    gateway.cli("undeploy", "timed")
