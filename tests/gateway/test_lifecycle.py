"""Start, drain, health, retries and disconnects: the gateway as a process among other processes."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time

import httpx
import pytest

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway, last_request

STREAM = {"model": "fake-model", "stream": True, "messages": [{"role": "user", "content": "one two three four"}]}


def auth(gateway: LiveGateway) -> dict[str, str]:
    return {"authorization": f"Bearer {gateway.admin_key}"}


def test_first_start_prints_and_saves_the_admin_key_once(fresh_gateway: LiveGateway) -> None:
    fresh_gateway.start()
    key_file = fresh_gateway.data_dir / "admin-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert key in fresh_gateway.log_path.read_text()
    assert httpx.get(fresh_gateway.v1 + "/models", headers=auth(fresh_gateway)).status_code == 200
    fresh_gateway.stop()
    fresh_gateway.log_path.write_text("")
    fresh_gateway.start()
    assert key not in fresh_gateway.log_path.read_text()
    assert key_file.read_text().strip() == key


def test_sigterm_drains_in_flight_streams(fresh_gateway: LiveGateway, fake: FakeUpstream) -> None:
    fresh_gateway.start()
    fresh_gateway.deploy("fake-model", [fake.url])
    result: dict[str, bytes] = {}

    def slow_stream() -> None:
        headers = {**auth(fresh_gateway), "x-fake-chunk-delay-ms": "300", "x-fake-chunks": "6"}
        result["body"] = httpx.post(fresh_gateway.v1 + "/chat/completions", json=STREAM, headers=headers,
                                    timeout=30).content

    worker = threading.Thread(target=slow_stream)
    worker.start()
    time.sleep(0.6)
    assert fresh_gateway.process is not None
    fresh_gateway.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    with pytest.raises(httpx.ConnectError):
        httpx.get(fresh_gateway.url + "/healthz", timeout=2)
    worker.join(15)
    assert result["body"].endswith(b"data: [DONE]\n\n")
    assert fresh_gateway.process.wait(15) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once drained


def test_client_disconnect_cancels_the_upstream_request(gateway: LiveGateway, fake: FakeUpstream) -> None:
    before = fake.cancelled
    headers = {**auth(gateway), "x-fake-chunk-delay-ms": "200", "x-fake-chunks": "50"}
    with httpx.stream("POST", gateway.v1 + "/chat/completions", json=STREAM, headers=headers, timeout=30) as response:
        for _ in response.iter_bytes():
            break
    deadline = time.monotonic() + 5
    while fake.cancelled == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.cancelled > before


def test_client_disconnect_cancels_a_long_non_streaming_request(gateway: LiveGateway, fake: FakeUpstream) -> None:
    before = fake.cancelled
    body = {"model": "fake-model", "messages": [{"role": "user", "content": "x"}]}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(gateway.v1 + "/chat/completions", json=body, timeout=0.5,
                   headers={**auth(gateway), "x-fake-delay-ms": "3000"})
    deadline = time.monotonic() + 5
    while fake.cancelled == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.cancelled > before


def test_connection_failure_is_retried_on_another_instance(tmp_path, fake: FakeUpstream) -> None:  # type: ignore[no-untyped-def]
    doomed = FakeUpstream(models=("fake-model",))
    doomed.start_in_thread()
    with LiveGateway(tmp_path / "gw", probe_seconds=60) as gateway:
        gateway.deploy("pair", [doomed.url, fake.url], upstream_model="fake-model")
        states = gateway.api("GET", "/api/deployments/pair").json()["instances"]
        while [i["state"] for i in states] != ["ready", "ready"]:
            time.sleep(0.05)
            states = gateway.api("GET", "/api/deployments/pair").json()["instances"]
        doomed.stop_thread()
        body = {"model": "pair", "messages": [{"role": "user", "content": "x"}]}
        for _ in range(4):  # least-outstanding would pick the dead one about half the time
            response = httpx.post(gateway.v1 + "/chat/completions", json=body, headers=auth(gateway))
            assert response.status_code == 200


def test_unreachable_only_instance_is_502(tmp_path, fake: FakeUpstream) -> None:  # type: ignore[no-untyped-def]
    doomed = FakeUpstream(models=("fake-model",))
    doomed.start_in_thread()
    with LiveGateway(tmp_path / "gw", probe_seconds=60) as gateway:
        gateway.deploy("lonely", [doomed.url], upstream_model="fake-model")
        doomed.stop_thread()
        response = httpx.post(gateway.v1 + "/chat/completions", headers=auth(gateway),
                              json={"model": "lonely", "messages": []})
        assert response.status_code == 502
        assert response.json()["error"]["code"] == "upstream_unreachable"


def test_unhealthy_remote_leaves_and_comes_back(gateway: LiveGateway) -> None:
    flaky = FakeUpstream(models=("flaky",))
    flaky.start_in_thread()
    try:
        gateway.deploy("flaky", [flaky.url])
        flaky.healthy = False
        deadline = time.monotonic() + 10
        while "flaky" in ids(gateway) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "flaky" not in ids(gateway)
        status = gateway.api("GET", "/api/deployments/flaky").json()["instances"][0]
        assert status["state"] == "unhealthy" and "503" in status["reason"]
        flaky.healthy = True
        gateway.wait_ready("flaky", timeout=10)
    finally:
        flaky.stop_thread()


def ids(gateway: LiveGateway) -> list[str]:
    return [m["id"] for m in httpx.get(gateway.v1 + "/models", headers=auth(gateway)).json()["data"]]


def test_remote_deployment_with_upstream_key(gateway: LiveGateway) -> None:
    guarded = FakeUpstream(models=("guarded",), api_key="upstream-secret")
    guarded.start_in_thread()
    try:
        gateway.deploy("guarded", [guarded.url], upstream_key="upstream-secret")
        response = httpx.post(gateway.v1 + "/chat/completions", headers=auth(gateway),
                              json={"model": "guarded", "messages": [{"role": "user", "content": "x"}]})
        assert response.status_code == 200
        assert last_request(guarded, "/v1/chat/completions").headers.get("authorization") == "Bearer upstream-secret"
        listing = gateway.api("GET", "/api/deployments/guarded").text
        assert "upstream-secret" not in listing
    finally:
        guarded.stop_thread()


def test_python_dash_m_works() -> None:
    result = subprocess.run([sys.executable, "-m", "modelport", "--help"], capture_output=True, text=True,
                            env={**os.environ}, timeout=30)
    assert result.returncode == 0
    assert "serve" in result.stdout and "deploy" in result.stdout and "keys" in result.stdout


def test_several_workers_share_the_port_and_drain_together(tmp_path, fake: FakeUpstream) -> None:  # type: ignore[no-untyped-def]
    gateway = LiveGateway(tmp_path / "gw", "--workers", "2").start()
    try:
        gateway.deploy("fake-model", [fake.url])
        workers = subprocess.check_output(["pgrep", "-P", str(gateway.process.pid)]).split()  # type: ignore[union-attr]
        assert len(workers) == 2
        body = {"model": "fake-model", "messages": [{"role": "user", "content": "x"}]}
        with httpx.Client(headers=auth(gateway)) as client:
            for _ in range(20):
                with httpx.Client(headers=auth(gateway)) as fresh:  # new connections spread over the workers
                    assert fresh.post(gateway.v1 + "/chat/completions", json=body).status_code == 200
            key = gateway.create_key("shared")
            assert client.post(gateway.v1 + "/chat/completions", json=body,
                               headers={"authorization": f"Bearer {key}"}).status_code == 200
    finally:
        assert gateway.stop() == 0
    assert subprocess.run(["pgrep", "-P", str(gateway.process.pid)], capture_output=True).returncode != 0  # type: ignore[union-attr]


def test_workers_route_to_managed_instances(tmp_path) -> None:  # type: ignore[no-untyped-def]
    gateway = LiveGateway(tmp_path / "gw", "--workers", "2").start()
    try:
        command = f"{sys.executable} -m modelport.testing --port {{port}} --model {{name}} --api-key {{secret}}"
        gateway.cli("deploy", "managed", "--command", command)
        gateway.wait_ready("managed", timeout=60)
        body = {"model": "managed", "messages": [{"role": "user", "content": "hi"}]}
        for _ in range(6):
            with httpx.Client(headers=auth(gateway)) as fresh:
                response = fresh.post(gateway.v1 + "/chat/completions", json=body)
                assert response.status_code == 200, response.text
    finally:
        gateway.stop()
