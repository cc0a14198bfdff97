"""`/metrics` on a live gateway: scraped by a real Prometheus, guarded by a token, summed over workers."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway
from tests.prometheus_server import PrometheusServer

TOKEN = "metrics-scrape-token"
CHAT = [{"role": "user", "content": "hello metrics"}]


@pytest.fixture(scope="module")
def metered(tmp_path_factory: pytest.TempPathFactory, fake: FakeUpstream) -> Iterator[LiveGateway]:
    with LiveGateway(tmp_path_factory.mktemp("metrics"), "--metrics-token", TOKEN) as live:
        live.deploy("metered", [fake.url], upstream_model="fake-model")
        yield live


def scrape(gateway: LiveGateway, token: str | None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.get(gateway.url + "/metrics", headers=headers, timeout=10)


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            total += float(match.group(2))
    return total


def test_prometheus_scrapes_the_request_count(metered: LiveGateway, tmp_path: Path) -> None:
    client = openai.OpenAI(base_url=metered.v1, api_key=metered.create_key("metered"), max_retries=0)
    for _ in range(7):
        client.chat.completions.create(model="metered", messages=CHAT)  # type: ignore[arg-type]
    list(client.chat.completions.create(model="metered", messages=CHAT, stream=True,  # type: ignore[arg-type]
                                        stream_options={"include_usage": True}))
    with PrometheusServer(tmp_path / "prom", [f"127.0.0.1:{metered.port}"], token=TOKEN) as prom:
        query = 'sum(modelport_requests_total{deployment="metered",endpoint="/v1/chat/completions",status="200"})'
        assert prom.wait_for(query, lambda value: value >= 8) == 8
        assert prom.targets_up() == ["up"]
        ttft = prom.wait_for('sum(gen_ai_server_time_to_first_token_seconds_count{deployment="metered"})',
                             lambda value: value >= 1)
        assert ttft == 1  # only the streamed answer has a first token
        tokens = prom.query('sum by (token_type) (modelport_tokens_total{deployment="metered"})')
        assert {row["metric"]["token_type"] for row in tokens} == {"input", "output"}


def test_metrics_need_the_token_or_an_admin_key(metered: LiveGateway) -> None:
    assert scrape(metered, None).status_code == 401
    assert scrape(metered, "wrong").status_code == 401
    assert scrape(metered, metered.create_key("not-admin")).status_code == 403
    assert scrape(metered, TOKEN).status_code == 200
    answer = scrape(metered, metered.admin_key)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    assert "gen_ai_server_request_duration_seconds_bucket" in answer.text
    assert "modelport_instances{" in answer.text  # instances by state, from the store
    key_ids = [key["id"] for key in metered.api("GET", "/api/keys").json()["data"]]
    assert not any(key_id in answer.text for key_id in key_ids)  # labels never carry keys


def test_public_metrics_from_loopback(fresh_gateway: LiveGateway) -> None:
    fresh_gateway._args.append("--metrics-public")
    fresh_gateway.start()
    assert scrape(fresh_gateway, None).status_code == 200


def test_workers_sum_their_metrics(tmp_path: Path, fake: FakeUpstream) -> None:
    with LiveGateway(tmp_path / "gw", "--workers", "2") as live:
        live.deploy("metered", [fake.url], upstream_model="fake-model")
        key = live.create_key("workers")
        with httpx.Client(timeout=10) as http:  # a new connection each time spreads them over the workers
            for _ in range(20):
                http.post(live.v1 + "/embeddings", json={"model": "metered", "input": "one two"},
                          headers={"authorization": f"Bearer {key}", "connection": "close"}).raise_for_status()
        deadline = time.monotonic() + 15  # each worker shares its numbers every second
        while True:
            text = scrape(live, live.admin_key).text
            count = sample(text, "modelport_requests_total", deployment="metered", endpoint="/v1/embeddings")
            if count >= 20 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert count == 20
        assert sample(text, "modelport_tokens_total", deployment="metered", token_type="input") == 40
        assert sample(text, "gen_ai_server_request_duration_seconds_count", deployment="metered") == 20
