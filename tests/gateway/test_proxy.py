"""The generic proxy `/model/proxy/...` through a live gateway: against the fake upstream's `/echo`, and
against the built-in embedding and rerank workers (TEI's `/embed` and `/rerank`)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway

NAME = "proxied"
SECRET = "instance-secret"

# The spec's example (spec/inference-apis.md, "Other APIs"), verbatim but for the host and the model name.
SPEC_PROXY = """export GPUSTACK_API_KEY=your_api_key
curl http://your_gpustack_server_url/model/proxy/embed \\
  -X POST \\
  -H "Content-Type: application/json" \\
  -H "Authorization: Bearer $GPUSTACK_API_KEY" \\
  -H "X-GPUStack-Model: bge-m3" \\
  -d '{"inputs": ["What is Deep Learning?", "Deep Learning is not..."]}'
"""


@pytest.fixture(scope="module")
def proxied(gateway: LiveGateway, fake: FakeUpstream) -> str:
    """The fake upstream deployed with the generic proxy on and its own upstream key."""
    gateway.deploy(NAME, [fake.url], generic_proxy=True, upstream_key=SECRET)
    return NAME


@pytest.fixture(scope="module")
def key(gateway: LiveGateway) -> str:
    return gateway.create_key("proxy-client")


def call(gateway: LiveGateway, key: str, method: str, path: str, **kwargs: object) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    return httpx.request(method, gateway.url + path, headers=headers, timeout=60, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_every_method_with_path_query_and_body(gateway: LiveGateway, proxied: str, key: str, method: str) -> None:
    body = b"" if method == "GET" else f"payload for {method}".encode()
    response = call(gateway, key, method, "/model/proxy/echo/a/b?x=1&y=two%20words", content=body,
                    headers={"x-gpustack-model": proxied, "content-type": "text/plain"})
    assert response.status_code == 200, response.text
    echo = response.json()
    assert (echo["method"], echo["path"], echo["query"]) == (method, "/echo/a/b", "x=1&y=two words")
    assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_model_in_the_path(gateway: LiveGateway, proxied: str, key: str) -> None:
    echo = call(gateway, key, "PUT", f"/model/proxy/{proxied}/v1/echo/x?q=1", content=b"abc").json()
    assert (echo["method"], echo["path"], echo["query"], echo["body_length"]) == ("PUT", "/v1/echo/x", "q=1", 3)


def test_model_in_the_json_body(gateway: LiveGateway, proxied: str, key: str) -> None:
    body = json.dumps({"model": proxied, "inputs": ["x"]}).encode()
    echo = call(gateway, key, "POST", "/model/proxy/echo/score", content=body,
                headers={"content-type": "application/json"}).json()
    assert echo["path"] == "/echo/score"
    assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()  # forwarded as it came


def test_header_and_body_agreeing_is_fine_and_differing_is_a_400(gateway: LiveGateway, proxied: str,
                                                                  key: str) -> None:
    headers = {"x-gpustack-model": proxied}
    assert call(gateway, key, "POST", "/model/proxy/echo/x", json={"model": proxied}, headers=headers).is_success
    response = call(gateway, key, "POST", "/model/proxy/echo/x", json={"model": "fake-model"}, headers=headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "model_mismatch" and error["type"] == "invalid_request_error"
    assert proxied in error["message"] and "fake-model" in error["message"]


def test_no_model_is_a_400(gateway: LiveGateway, proxied: str, key: str) -> None:
    for kwargs in ({"json": {"inputs": ["x"]}}, {"content": b"raw"}, {}):
        response = call(gateway, key, "POST", "/model/proxy/echo/x", **kwargs)
        assert response.status_code == 400 and response.json()["error"]["code"] == "missing_model"


def test_deployment_without_the_flag_is_a_403(gateway: LiveGateway, key: str) -> None:
    for response in (
        call(gateway, key, "POST", "/model/proxy/echo/x", headers={"x-gpustack-model": "fake-model"}),
        call(gateway, key, "GET", "/model/proxy/fake-model/echo/x"),
    ):
        assert response.status_code == 403
        error = response.json()["error"]
        assert error["code"] == "generic_proxy_disabled" and error["type"] == "permission_error"


def test_unknown_model_key_scope_and_missing_key(gateway: LiveGateway, proxied: str, key: str) -> None:
    response = call(gateway, key, "GET", "/model/proxy/echo/x", headers={"x-gpustack-model": "nope"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"
    limited = gateway.create_key("limited", models=["fake-model"])
    assert call(gateway, limited, "GET", f"/model/proxy/{proxied}/echo/x").status_code == 404
    assert httpx.get(gateway.url + f"/model/proxy/{proxied}/echo/x").status_code == 401


def test_client_key_and_hop_by_hop_headers_stay_behind(gateway: LiveGateway, proxied: str, key: str) -> None:
    headers = {"x-gpustack-model": proxied, "x-api-key": key, "proxy-authorization": "Basic abc",
               "te": "trailers", "keep-alive": "timeout=5", "cookie": "session=1", "x-csrf-token": "t0ken",
               "x-custom": "kept"}
    echo = call(gateway, key, "GET", "/model/proxy/echo/h", headers=headers).json()
    sent = echo["headers"]
    assert sent["authorization"] == f"Bearer {SECRET}"  # the instance's own credentials, not the client's key
    assert key not in json.dumps(sent)
    for name in ("x-api-key", "proxy-authorization", "te", "keep-alive", "cookie", "x-csrf-token", "x-gpustack-model"):
        assert name not in sent
    assert sent["x-custom"] == "kept"


def test_streamed_response_arrives_as_it_is_made(gateway: LiveGateway, proxied: str, key: str) -> None:
    headers = {"authorization": f"Bearer {key}", "x-gpustack-model": proxied, "x-fake-chunk-delay-ms": "100"}
    started = time.monotonic()
    arrivals = []
    with httpx.stream("GET", gateway.url + "/model/proxy/echo/s?stream=8", headers=headers, timeout=30) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        text = ""
        for chunk in r.iter_text():
            arrivals.append(time.monotonic() - started)
            text += chunk
    assert text == "".join(f"line {n}\n" for n in range(8))
    assert len(arrivals) >= 4 and arrivals[0] < arrivals[-1] - 0.4  # not buffered until the end


@pytest.mark.parametrize("body", [None, b"streamed body"])
def test_a_client_hanging_up_stops_the_upstream(gateway: LiveGateway, fake: FakeUpstream, proxied: str, key: str,
                                                body: bytes | None) -> None:
    before = fake.cancelled
    headers = {"authorization": f"Bearer {key}", "x-fake-chunk-delay-ms": "200"}
    with httpx.stream("PUT", gateway.url + f"/model/proxy/{proxied}/echo/s?stream=50", content=body,
                      headers=headers, timeout=30) as r:
        assert next(r.iter_raw()) == b"line 0\n"
    deadline = time.monotonic() + 5
    while fake.cancelled == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.cancelled > before


def test_upstream_status_and_body_are_relayed(gateway: LiveGateway, proxied: str, key: str) -> None:
    response = call(gateway, key, "POST", "/model/proxy/v1/echo/x", json={"model": proxied},
                    headers={"x-fake-status": "418"})
    assert response.status_code == 418 and "418" in response.json()["error"]["message"]
    assert call(gateway, key, "GET", f"/model/proxy/{proxied}/no/such/path").status_code == 404


def test_large_bodies_both_ways(gateway: LiveGateway, proxied: str, key: str) -> None:
    data = os.urandom(20 * 1024 * 1024)
    echo = call(gateway, key, "PUT", f"/model/proxy/{proxied}/echo/big", content=data,
                headers={"content-type": "application/octet-stream"}).json()
    assert (echo["body_length"], echo["body_sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert echo["headers"]["content-length"] == str(len(data))

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked from the client, streamed upstream
        for start in range(0, len(data), 1 << 20):
            yield data[start:start + (1 << 20)]

    echo = call(gateway, key, "POST", "/model/proxy/echo/chunked", content=chunks(),
                headers={"x-gpustack-model": proxied}).json()
    assert (echo["body_length"], echo["body_sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    big_json = json.dumps({"model": proxied, "blob": data[: 8 << 20].hex()}).encode()
    echo = call(gateway, key, "POST", "/model/proxy/echo/json", content=big_json,
                headers={"content-type": "application/json"}).json()
    assert echo["body_sha256"] == hashlib.sha256(big_json).hexdigest()
    stream = call(gateway, key, "GET", f"/model/proxy/{proxied}/echo/s?stream=200000")
    assert stream.text.count("\n") == 200000


def test_bodies_over_the_limit_are_413(tmp_path: Path, fake: FakeUpstream) -> None:
    with LiveGateway(tmp_path / "gw", "--max-upload-mb", "1") as live:
        live.deploy(NAME, [fake.url], generic_proxy=True)
        big = b"x" * (2 << 20)
        declared = call(live, live.admin_key, "PUT", f"/model/proxy/{NAME}/echo/x", content=big)
        assert declared.status_code == 413
        chunked = call(live, live.admin_key, "PUT", f"/model/proxy/{NAME}/echo/x", content=iter([big[:1 << 20], big]))
        assert chunked.status_code == 413, chunked.text


# -- the built-in workers, whose defaults have the proxy on


def test_spec_example_on_the_builtin_embedding_model(builtin_gateway: LiveGateway) -> None:
    script = SPEC_PROXY.replace("your_api_key", builtin_gateway.admin_key)
    script = script.replace("http://your_gpustack_server_url", builtin_gateway.url)
    script = script.replace("bge-m3", "all-minilm-l6-v2")
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    vectors = json.loads(done.stdout)
    assert len(vectors) == 2 and len(vectors[0]) == 384 and all(isinstance(v, float) for v in vectors[0])


def test_tei_rerank_through_the_proxy_on_the_builtin_reranker(builtin_gateway: LiveGateway) -> None:
    headers = {"authorization": f"Bearer {builtin_gateway.admin_key}"}
    texts = ["hi", "The giant panda is a bear species."]
    body = {"query": "What is a panda?", "texts": texts, "return_text": True}
    ranks = httpx.post(builtin_gateway.url + "/model/proxy/e5-small-bi-encoder-rerank/rerank", json=body,
                       headers=headers, timeout=60).json()
    assert ranks[0]["index"] == 1 and ranks[0]["text"] == texts[1]


def test_the_builtin_llm_has_no_proxy(builtin_gateway: LiveGateway) -> None:
    response = httpx.post(builtin_gateway.url + "/model/proxy/v1/tokenize", json={"prompt": "hi"}, timeout=30,
                          headers={"authorization": f"Bearer {builtin_gateway.admin_key}",
                                   "x-gpustack-model": "smollm2-135m-instruct"})
    assert response.status_code == 403


def test_a_renamed_deployment_gets_its_upstream_model_in_read_bodies(gateway: LiveGateway, fake: FakeUpstream,
                                                                     key: str) -> None:
    gateway.deploy("proxied-alias", [fake.url], generic_proxy=True, upstream_model="fake-model")
    body = json.dumps({"model": "proxied-alias", "inputs": ["x"]}).encode()
    renamed = json.dumps({"model": "fake-model", "inputs": ["x"]}, separators=(",", ":")).encode()
    for headers in ({"content-type": "application/json"},
                    {"content-type": "application/json", "x-gpustack-model": "proxied-alias"}):
        echo = call(gateway, key, "POST", "/model/proxy/echo/score", content=body, headers=headers).json()
        assert echo["body_sha256"] == hashlib.sha256(renamed).hexdigest()
