"""Ray placement on a cluster with token authentication on (RAY_AUTH_MODE=token, the token in a 0600 file named
by RAY_AUTH_TOKEN_PATH, on the node and the gateway, as docs/multi-machine.md says to run it): instances are
placed, serve and show their logs; a driver without the token is refused."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator

import openai
import pytest

from tests.harness import LiveGateway
from tests.instances_ray.ray_cluster import RAY, RayCluster, wait_state

COMMAND = f"{sys.executable} -m modelport.testing --host 127.0.0.1 --port {{port}} --model {{name}} --api-key {{secret}}"
CHAT = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveGateway, RayCluster]]:
    token_file = tmp_path_factory.mktemp("auth") / "auth_token"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    with pytest.MonkeyPatch.context() as env:  # the node, the gateway and this test's driver all have it
        env.setenv("RAY_AUTH_MODE", "token")
        env.setenv("RAY_AUTH_TOKEN_PATH", str(token_file))
        cluster = RayCluster(tmp_path_factory.mktemp("ray")).start()
        try:
            wait_up(cluster)
            with LiveGateway(tmp_path_factory.mktemp("gw"), "--placement", "ray", "--ray-address",
                             cluster.address) as live:
                yield live, cluster
        finally:
            cluster.stop()


def wait_up(cluster: RayCluster, timeout: float = 120) -> None:
    """Until `ray status` (with the token) answers; from a process of its own, so that this one's Ray stays
    unconnected and without token auth for the tests after these."""
    deadline = time.monotonic() + timeout
    while subprocess.run([RAY, "status", "--address", cluster.address], capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, "the Ray head never answered"
        time.sleep(1)


def test_instances_serve_on_a_cluster_with_token_auth(gateway: tuple[LiveGateway, RayCluster]) -> None:
    live, _ = gateway
    live.cli("deploy", "guarded", "--command", COMMAND, "--health-path", "/models", remote=True)
    wait_state(live, "guarded", "ready")
    client = openai.OpenAI(base_url=live.v1, api_key=live.admin_key, max_retries=0)
    assert client.chat.completions.create(model="guarded", messages=CHAT).choices[0].message.content == "Echo: hi"
    assert "starting" in live.cli("logs", "guarded", remote=True).stdout
    live.cli("undeploy", "guarded", remote=True)


def test_a_driver_without_the_token_is_refused(gateway: tuple[LiveGateway, RayCluster]) -> None:
    _, cluster = gateway
    env = {name: value for name, value in os.environ.items() if not name.startswith("RAY_AUTH")}
    connect = f"import ray; ray.init(address={cluster.address!r}); print('connected', ray.nodes())"
    tried = subprocess.run([sys.executable, "-c", connect], env=env, capture_output=True, text=True, timeout=90)
    assert tried.returncode != 0 and "connected" not in tried.stdout, tried.stdout
    assert "Authentication token is missing or incorrect" in tried.stderr, tried.stderr[-2000:]
