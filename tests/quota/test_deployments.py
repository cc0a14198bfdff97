"""Limits per deployment on a live gateway: what a request without max_tokens reserves on each deployment
(`reserve_output_tokens`, else 1,024), and a key's limits on one deployment holding on every endpoint that
names it: JSON bodies, multipart uploads (the model field after the file too) and the generic proxy (its
path, its header, a JSON body)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from modelport.testing import FakeUpstream
from modelport.testing.audio import sine_pcm, wav_bytes
from modelport.testing.images import make_png
from tests.harness import LiveGateway

CHAT = [{"role": "user", "content": "Say something short."}]
PROMPT_TOKENS = 6  # "user" and "Say something short.": 24 characters, at four a token
TPM = 100_000


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, fake: FakeUpstream) -> Iterator[LiveGateway]:
    with LiveGateway(tmp_path_factory.mktemp("deployment-limits")) as gateway:
        gateway.deploy("fake-model", [fake.url], generic_proxy=True)
        gateway.deploy("capped", [fake.url], upstream_model="fake-model",
                       engine_args={"reserve_output_tokens": "300"})
        yield gateway


def limited_key(gateway: LiveGateway, **limits: Any) -> tuple[str, str]:
    response = gateway.api("POST", "/api/keys", {"name": "limited", "limits": limits})
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["key"]


def chat(gateway: LiveGateway, secret: str, model: str, **extra: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {secret}", **extra.pop("headers", {})}
    return httpx.post(gateway.v1 + "/chat/completions", headers=headers, timeout=30,
                      json={"model": model, "messages": CHAT, **extra})


def test_a_request_without_max_tokens_reserves_its_deployments_default(live: LiveGateway) -> None:
    key_id, secret = limited_key(live, tpm=TPM)
    held: list[httpx.Response] = []
    slow = threading.Thread(target=lambda: held.append(chat(live, secret, "capped",
                                                            headers={"x-fake-delay-ms": "1500"})))
    slow.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # while it runs, the key holds its reservation
        (standing,) = live.api("GET", f"/api/keys/{key_id}").json()["usage"]
        if standing["tokens_per_minute"]["used"]:
            break
        time.sleep(0.05)
    assert standing["tokens_per_minute"]["used"] == PROMPT_TOKENS + 300
    slow.join()
    assert held[0].status_code == 200
    assert int(held[0].headers["x-ratelimit-remaining-tokens"]) == TPM - PROMPT_TOKENS - 300

    _, fresh = limited_key(live, tpm=TPM)
    plain = chat(live, fresh, "fake-model")  # no reserve_output_tokens: 1,024
    assert int(plain.headers["x-ratelimit-remaining-tokens"]) == TPM - PROMPT_TOKENS - 1024
    _, third = limited_key(live, tpm=TPM)
    stated = chat(live, third, "capped", max_tokens=40)  # what the request says wins over the default
    assert int(stated.headers["x-ratelimit-remaining-tokens"]) == TPM - PROMPT_TOKENS - 40


def test_reserve_output_tokens_is_checked_at_deploy_time(live: LiveGateway, fake: FakeUpstream) -> None:
    bad = live.api("POST", "/api/deployments", {"name": "bad", "urls": [fake.url],
                                                "engine_args": {"reserve_output_tokens": "lots"}})
    assert bad.status_code == 400 and "reserve_output_tokens" in bad.text


def refused_the_second_time(send: Any) -> None:
    """`send(secret)` twice with a key allowed one request a minute on `fake-model` (and nothing on the key as
    a whole): the first is let through, the second refused by the deployment's limit."""
    first = send()
    assert first.status_code != 429, first.text
    second = send()
    assert second.status_code == 429, second.text
    error = second.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and "`fake-model`" in error["message"]
    assert second.headers["x-ratelimit-remaining-requests"] == "0"


def deployment_key(live: LiveGateway) -> dict[str, str]:
    _, secret = limited_key(live, deployments={"fake-model": {"rpm": 1}})
    return {"authorization": f"Bearer {secret}"}


def test_deployment_limits_hold_on_json_bodies(live: LiveGateway) -> None:
    auth = deployment_key(live)
    refused_the_second_time(lambda: httpx.post(live.v1 + "/embeddings", headers=auth, timeout=30,
                                               json={"model": "fake-model", "input": "hello"}))
    other = deployment_key(live)
    assert chat(live, other["authorization"].split()[1], "capped").status_code == 200  # another deployment


def test_deployment_limits_hold_on_uploads(live: LiveGateway) -> None:
    audio = wav_bytes(sine_pcm(0.2))
    auth = deployment_key(live)
    refused_the_second_time(lambda: httpx.post(  # the model after the file: the whole upload is read first
        live.v1 + "/audio/transcriptions", headers=auth, timeout=30,
        files=[("file", ("a.wav", audio, "audio/wav")), ("model", (None, "fake-model"))]))
    auth = deployment_key(live)
    refused_the_second_time(lambda: httpx.post(
        live.v1 + "/audio/translations", headers=auth, timeout=30,
        files=[("model", (None, "fake-model")), ("file", ("a.wav", audio, "audio/wav"))]))
    auth = deployment_key(live)
    refused_the_second_time(lambda: httpx.post(
        live.v1 + "/images/edits", headers=auth, timeout=30,
        files=[("image", ("a.png", make_png(8, 8), "image/png")), ("prompt", (None, "a hat")),
               ("model", (None, "fake-model"))]))


def test_an_upload_admitted_reaches_the_instance_whole(live: LiveGateway, fake: FakeUpstream) -> None:
    auth = deployment_key(live)
    audio = wav_bytes(sine_pcm(3.0))  # larger than one replayed chunk
    answer = httpx.post(live.v1 + "/audio/transcriptions", headers=auth, timeout=30,
                        files=[("file", ("a.wav", audio, "audio/wav")), ("model", (None, "fake-model"))])
    assert answer.status_code == 200, answer.text
    sent = next(r for r in reversed(fake.requests) if r.path == "/v1/audio/transcriptions")
    assert audio in sent.body


def test_deployment_limits_hold_on_the_generic_proxy(live: LiveGateway) -> None:
    auth = deployment_key(live)
    refused_the_second_time(lambda: httpx.get(live.url + "/model/proxy/fake-model/v1/models", headers=auth,
                                              timeout=30))
    auth = deployment_key(live)
    refused_the_second_time(lambda: httpx.post(live.url + "/model/proxy/v1/embeddings", timeout=30,
                                               headers={**auth, "x-gpustack-model": "fake-model"},
                                               json={"input": "hello"}))
    auth = deployment_key(live)
    refused_the_second_time(lambda: httpx.post(live.url + "/model/proxy/v1/embeddings", headers=auth, timeout=30,
                                               json={"model": "fake-model", "input": "hello"}))
