"""Create-or-replace deployments (`PUT /api/deployments/NAME`, `modelport deploy --replace`): idempotent
deploy scripts, and instances that keep running when only routing changes."""

from __future__ import annotations

import sys
import time
from typing import Any

import openai
import pytest

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway

COMMAND = f"{sys.executable} -m modelport.testing --port {{port}} --model {{name}} --api-key {{secret}}"
CHAT = [{"role": "user", "content": "hi"}]


def _instances(gateway: LiveGateway, name: str, count: int) -> list[dict[str, Any]]:
    """The deployment's instances once `count` of them are ready (30 s at most)."""
    deadline = time.monotonic() + 30
    while True:
        instances = gateway.api("GET", f"/api/deployments/{name}").json()["instances"]
        if [i["state"] for i in instances] == ["ready"] * count or time.monotonic() > deadline:
            return instances  # type: ignore[no-any-return]
        time.sleep(0.1)


def test_replacing_routing_keeps_instances_and_replacing_the_run_restarts_them(gateway: LiveGateway) -> None:
    deploy = ("deploy", "rep", "--command", COMMAND, "--health-path", "/models", "--replace")
    gateway.cli(*deploy, remote=True)
    try:
        (first,) = _instances(gateway, "rep", 1)
        assert first["state"] == "ready" and first["pid"]
        gateway.cli(*deploy, "--alias", "rep-alias", "--timeout", "total=99", remote=True)
        client = openai.OpenAI(base_url=gateway.v1, api_key=gateway.admin_key, max_retries=0)
        assert client.chat.completions.create(model="rep-alias", messages=CHAT).model == "rep"
        time.sleep(1.0)  # a supervisor pass or two
        (same,) = _instances(gateway, "rep", 1)
        assert (same["pid"], same["state"]) == (first["pid"], "ready")  # aliases and timeouts: no restart
        spec = gateway.api("GET", "/api/deployments/rep").json()
        assert spec["aliases"] == ["rep-alias"] and spec["timeouts"]["total"] == 99

        gateway.cli(*deploy, "--replicas", "2", remote=True)  # what runs changed: instances restart
        instances = _instances(gateway, "rep", 2)
        assert [i["state"] for i in instances] == ["ready", "ready"]
        assert first["pid"] not in {i["pid"] for i in instances}
        assert client.chat.completions.create(model="rep", messages=CHAT).choices[0].message.content == "Echo: hi"
        with pytest.raises(openai.NotFoundError):  # the alias dropped from the spec no longer answers
            client.chat.completions.create(model="rep-alias", messages=CHAT)
    finally:
        gateway.api("DELETE", "/api/deployments/rep")


def test_put_creates_then_replaces(gateway: LiveGateway, fake: FakeUpstream) -> None:
    body = {"name": "put-me", "urls": [fake.url], "upstream_model": "fake-model"}
    try:
        assert gateway.api("PUT", "/api/deployments/put-me", body).status_code == 201
        replaced = gateway.api("PUT", "/api/deployments/put-me", {**body, "aliases": ["put-alias"]})
        assert replaced.status_code == 200 and replaced.json()["aliases"] == ["put-alias"]
        assert gateway.api("POST", "/api/deployments", body).status_code == 409  # POST only creates
        mismatch = gateway.api("PUT", "/api/deployments/other-name", body)
        assert mismatch.status_code == 400 and mismatch.json()["error"]["param"] == "name"
    finally:
        gateway.api("DELETE", "/api/deployments/put-me")
