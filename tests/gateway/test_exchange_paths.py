"""Every path that reads an upstream answer itself (Cohere rerank translated to Jina, images as URLs,
translated Messages) runs on the
exchange: the deployment's total timeout bounds it, and an answer that is not what its protocol promises is a
502 in the client's error shape, never a 500 (issue 13)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway

RERANK = {"query": "a cat", "documents": ["a cat sat", "a dog ran"]}
IMAGE = {"prompt": "a cat", "response_format": "url"}
MESSAGE = {"max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
PATHS = [("/v2/rerank", RERANK, "openai"), ("/v1/images/generations", IMAGE, "openai"),
         ("/v1/messages", MESSAGE, "anthropic")]


@pytest.fixture(scope="module")
def short_total(gateway: LiveGateway, fake: FakeUpstream) -> str:
    gateway.deploy("short-total", [fake.url], upstream_model="fake-model", timeouts={"total": 1.0})
    return "short-total"


def post(gateway: LiveGateway, path: str, body: dict[str, Any], model: str, **headers: str) -> httpx.Response:
    return httpx.post(gateway.url + path, json={**body, "model": model}, timeout=30,
                      headers={"authorization": f"Bearer {gateway.admin_key}", "anthropic-version": "2023-06-01",
                               **headers})


def assert_shape(response: httpx.Response, protocol: str, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    if protocol == "anthropic":
        assert body["type"] == "error" and body["error"]["type"] and body["error"]["message"]
    else:
        assert body["error"]["message"] and body["error"]["type"]


@pytest.mark.parametrize("path,body,protocol", PATHS, ids=["cohere-rerank", "images-url", "messages"])
def test_the_total_timeout_bounds_the_exchange(gateway: LiveGateway, short_total: str, path: str,
                                               body: dict[str, Any], protocol: str) -> None:
    response = post(gateway, path, body, short_total, **{"x-fake-delay-ms": "5000"})
    assert_shape(response, protocol, 504)
    assert "total timeout" in response.text


@pytest.mark.parametrize("fault", ["html", "invalid-json"])
@pytest.mark.parametrize("path,body,protocol", PATHS, ids=["cohere-rerank", "images-url", "messages"])
def test_an_answer_that_is_not_json_is_a_502(gateway: LiveGateway, path: str, body: dict[str, Any], protocol: str,
                                             fault: str) -> None:
    response = post(gateway, path, body, "fake-model", **{"x-fake-fault": fault})
    assert_shape(response, protocol, 502)
