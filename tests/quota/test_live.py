"""Limits on a live gateway, through the official SDKs and raw HTTP: exact admission of concurrent requests
(one process, `--workers 2`, two gateways on one PostgreSQL), the headers of each protocol on whole and
streamed answers, refusals in each protocol's shape, budgets, the CLI and the API, and a restart."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway

CHAT = [{"role": "user", "content": "Say something short."}]
SLOW = {"x-fake-delay-ms": "400"}  # the answers outlast the burst, so concurrency limits bite too


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, fake: FakeUpstream) -> Iterator[LiveGateway]:
    with LiveGateway(tmp_path_factory.mktemp("limited")) as live:
        live.deploy("fake-model", [fake.url])
        yield live


def limited_key(gateway: LiveGateway, **limits: Any) -> tuple[str, str]:
    """A new inference key with these limits: (id, secret)."""
    response = gateway.api("POST", "/api/keys", {"name": "limited", "limits": limits})
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["key"]


async def burst(urls: list[str], secret: str, count: int = 100, headers: dict[str, str] | None = None,
                ) -> list[httpx.Response]:
    """`count` chat requests at once, spread over `urls`."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        body = {"model": "fake-model", "messages": CHAT, "max_tokens": 5}
        sends = [client.post(urls[i % len(urls)] + "/v1/chat/completions", json=body,
                             headers={"authorization": f"Bearer {secret}", **(headers or {})})
                 for i in range(count)]
        return list(await asyncio.gather(*sends))


def assert_exactly(responses: list[httpx.Response], admitted: int, reason: str = "rate_limit_exceeded") -> None:
    """Exactly `admitted` got past the limits (each answered; an overloaded fake upstream may fail one, which
    is not the limits' doing) and every other one was refused by them."""
    statuses = sorted(r.status_code for r in responses)
    others = [(r.status_code, r.text[:300]) for r in responses if r.status_code not in (200, 429)]
    assert statuses.count(429) == len(responses) - admitted, (statuses.count(200), others)
    assert all(status in (502, 503, 504) for status, _ in others), others
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["error"]["code"] == reason and refused.json()["error"]["type"] == "rate_limit_error"
    assert int(refused.headers["retry-after"]) >= 1


def test_one_hundred_concurrent_requests_against_ten_per_minute_admit_exactly_ten(limited: LiveGateway) -> None:
    _, secret = limited_key(limited, rpm=10)
    responses = asyncio.run(burst([limited.url], secret))
    assert_exactly(responses, 10)
    refused = next(r for r in responses if r.status_code == 429)
    assert 55 <= int(refused.headers["retry-after"]) <= 60  # the real wait: the first admitted leaves in ~60 s
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    metrics = httpx.get(limited.url + "/metrics", headers={"authorization": f"Bearer {limited.admin_key}"})
    assert 'modelport_limited_requests_total{reason="requests"} ' in metrics.text


def test_concurrency_admits_exactly_its_limit_and_frees_slots_as_requests_end(limited: LiveGateway) -> None:
    _, secret = limited_key(limited, concurrency=4)
    assert_exactly(asyncio.run(burst([limited.url], secret, 30, SLOW)), 4)
    assert_exactly(asyncio.run(burst([limited.url], secret, 30, SLOW)), 4)  # every slot was given back


def test_workers_share_one_count(tmp_path: Path, fake: FakeUpstream) -> None:
    with LiveGateway(tmp_path / "workers", "--workers", "2") as live:
        live.deploy("fake-model", [fake.url])
        _, secret = limited_key(live, rpm=10)
        assert_exactly(asyncio.run(burst([live.url], secret)), 10)


def test_two_gateways_on_one_postgres_share_one_count(tmp_path: Path, fake: FakeUpstream, postgres_url: str) -> None:
    with LiveGateway(tmp_path / "a", database_url=postgres_url) as first, \
            LiveGateway(tmp_path / "b", database_url=postgres_url) as second:
        first.deploy("fake-model", [fake.url])
        (second.data_dir / "admin-key").write_text(first.admin_key)  # the store's key, made by the first
        second.wait_ready("fake-model")
        _, secret = limited_key(first, rpm=10, concurrency=50)
        assert_exactly(asyncio.run(burst([first.url, second.url], secret)), 10)
        _, slots = limited_key(second, concurrency=3)
        assert_exactly(asyncio.run(burst([first.url, second.url], slots, 30, SLOW)), 3)


def test_headers_on_whole_and_streamed_answers_of_both_protocols(limited: LiveGateway) -> None:
    _, secret = limited_key(limited, rpm=100, tpm=100_000)
    client = openai.OpenAI(base_url=limited.v1, api_key=secret, max_retries=0)
    whole = client.chat.completions.with_raw_response.create(model="fake-model", messages=CHAT, max_tokens=10)
    assert whole.headers["x-ratelimit-limit-requests"] == "100"
    assert whole.headers["x-ratelimit-remaining-requests"] == "99"
    assert whole.headers["x-ratelimit-limit-tokens"] == "100000"
    assert int(whole.headers["x-ratelimit-remaining-tokens"]) < 100_000 - 10
    assert whole.headers["x-ratelimit-reset-requests"].endswith("s")
    with client.chat.completions.with_streaming_response.create(model="fake-model", messages=CHAT,
                                                                 stream=True) as streamed:
        assert streamed.headers["x-ratelimit-remaining-requests"] == "98"
        assert any(line.startswith("data: ") for line in streamed.iter_lines())
    claude = anthropic.Anthropic(base_url=limited.url, api_key=secret, max_retries=0)
    message = claude.messages.with_raw_response.create(model="fake-model", max_tokens=20, messages=CHAT)
    assert message.headers["anthropic-ratelimit-requests-limit"] == "100"
    assert message.headers["anthropic-ratelimit-requests-remaining"] == "97"
    assert message.headers["anthropic-ratelimit-tokens-reset"].endswith("Z")
    assert "x-ratelimit-limit-requests" not in message.headers
    with claude.messages.with_streaming_response.create(model="fake-model", max_tokens=20, messages=CHAT,
                                                        stream=True) as events:
        assert events.headers["anthropic-ratelimit-requests-remaining"] == "96"
        assert any("message_stop" in line for line in events.iter_lines())


def test_errors_of_admitted_requests_carry_the_headers_and_use_nothing(limited: LiveGateway) -> None:
    key_id, secret = limited_key(limited, rpm=50, tpm=10_000)
    headers = {"authorization": f"Bearer {secret}"}
    missing = httpx.post(limited.v1 + "/chat/completions", headers=headers, timeout=10,
                         json={"model": "no-such-model", "messages": CHAT, "max_tokens": 100})
    assert missing.status_code == 404 and missing.headers["x-ratelimit-remaining-requests"] == "49"
    failed = httpx.post(limited.v1 + "/chat/completions", headers={**headers, "x-fake-status": "500"}, timeout=10,
                        json={"model": "fake-model", "messages": CHAT, "max_tokens": 100})
    assert failed.status_code == 500 and failed.headers["x-ratelimit-remaining-requests"] == "48"
    (standing,) = limited.api("GET", f"/api/keys/{key_id}").json()["usage"]
    assert standing["tokens_per_minute"]["used"] == 0 and standing["requests_per_minute"]["used"] == 2


def test_refusals_in_each_protocols_shape(limited: LiveGateway) -> None:
    _, secret = limited_key(limited, rpm=1)
    client = openai.OpenAI(base_url=limited.v1, api_key=secret, max_retries=0)
    client.chat.completions.create(model="fake-model", messages=CHAT)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="fake-model", messages=CHAT)
    assert caught.value.code == "rate_limit_exceeded"
    claude = anthropic.Anthropic(base_url=limited.url, api_key=secret, max_retries=0)
    with pytest.raises(anthropic.RateLimitError) as refused:
        claude.messages.create(model="fake-model", max_tokens=20, messages=CHAT)
    assert refused.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert refused.value.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert math.isclose(int(refused.value.response.headers["retry-after"]), 60, abs_tol=5)


def test_a_budget_reserves_max_tokens_and_returns_what_went_unused(limited: LiveGateway) -> None:
    key_id, secret = limited_key(limited, budget={"tokens": 2000, "period": "day"})
    client = openai.OpenAI(base_url=limited.v1, api_key=secret, max_retries=0)
    with pytest.raises(openai.RateLimitError) as caught:  # more than the whole budget could give
        client.chat.completions.create(model="fake-model", messages=CHAT, max_tokens=5000)
    assert caught.value.code == "insufficient_quota" and "day token budget" in caught.value.message
    assert "renews at" in caught.value.message
    answer = client.chat.completions.create(model="fake-model", messages=CHAT, max_tokens=1500)
    assert answer.usage is not None and answer.usage.total_tokens < 100
    (standing,) = limited.api("GET", f"/api/keys/{key_id}").json()["usage"]
    assert standing["budget"]["used"] == answer.usage.total_tokens  # settled on the real count
    client.chat.completions.create(model="fake-model", messages=CHAT, max_tokens=1500)  # fits again
    before = limited.api("GET", f"/api/keys/{key_id}").json()["usage"][0]["budget"]["used"]
    list(client.chat.completions.create(model="fake-model", messages=CHAT, max_tokens=1500, stream=True))
    streamed = limited.api("GET", f"/api/keys/{key_id}").json()["usage"][0]["budget"]["used"] - before
    assert 0 < streamed < 100  # a stream without stream_options is settled on its real count too


def test_the_cli_sets_shows_and_updates_limits(limited: LiveGateway) -> None:
    for remote in (False, True):
        made = limited.cli("keys", "create", "--name", "cli", "--rpm", "60", "--tpm", "100k", "--concurrency",
                           "4", "--budget-tokens", "1000000/month", "--limit", "fake-model=rpm:10", remote=remote)
        key_id = made.stderr.split()[1]
        listed = limited.cli("keys", "list", remote=remote).stdout
        line = next(line for line in listed.splitlines() if line.startswith(key_id))
        assert "rpm=60 tpm=100000 concurrency=4 budget=1000000/month fake-model[rpm=10]" in line
        limited.cli("keys", "update", key_id, "--rpm", "none", "--tpm", "5k", "--limit", "fake-model=none",
                    remote=remote)
        shown = limited.cli("keys", "show", key_id, remote=remote).stdout
        assert "limits: tpm=5000 concurrency=4 budget=1000000/month" in shown and "fake-model" not in shown
        assert "tokens/min" in shown and "budget" in shown and "requests/min" not in shown
    bad = limited.cli("keys", "create", "--name", "x", "--budget-tokens", "5/week", check=False)
    assert bad.returncode == 1 and "day, month or total" in bad.stderr


def test_limits_survive_a_restart(fresh_gateway: LiveGateway, fake: FakeUpstream) -> None:
    fresh_gateway.start()
    fresh_gateway.deploy("fake-model", [fake.url])
    _, secret = limited_key(fresh_gateway, rpm=2)
    client = openai.OpenAI(base_url=fresh_gateway.v1, api_key=secret, max_retries=0)
    for _ in range(2):
        client.chat.completions.create(model="fake-model", messages=CHAT)
    fresh_gateway.stop()
    fresh_gateway.start()
    fresh_gateway.wait_ready("fake-model")
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="fake-model", messages=CHAT)


def test_keys_without_limits_of_their_own_get_the_defaults(limited: LiveGateway) -> None:
    _, plain = limited_key(limited)
    _, own = limited_key(limited, rpm=100)
    try:
        assert "defaults: rpm=2" in limited.cli("keys", "defaults", "--rpm", "2", remote=True).stdout
        time.sleep(1.5)  # gateways read the defaults every second
        client = openai.OpenAI(base_url=limited.v1, api_key=plain, max_retries=0)
        for _ in range(2):
            client.chat.completions.create(model="fake-model", messages=CHAT)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="fake-model", messages=CHAT)
        mine = openai.OpenAI(base_url=limited.v1, api_key=own, max_retries=0)
        admin = openai.OpenAI(base_url=limited.v1, api_key=limited.admin_key, max_retries=0)
        for _ in range(3):  # limits of its own, and an admin key: the defaults are not theirs
            mine.chat.completions.with_raw_response.create(model="fake-model", messages=CHAT)
            admin.chat.completions.with_raw_response.create(model="fake-model", messages=CHAT)
        assert limited.api("GET", "/api/limits/defaults").json()["rpm"] == 2
    finally:
        limited.cli("keys", "defaults", "--rpm", "none")
    assert "defaults: no limits" in limited.cli("keys", "defaults").stdout
