"""/v1/rerank (Jina) and /v2/rerank (Cohere) through a live gateway: relayed to the fake upstream and to the
built-in e5 worker, translated for a TEI-speaking instance (the e5 worker's native `/rerank`)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from modelport.testing import FakeUpstream
from modelport.translate.jina_tei import estimate_tokens
from tests.harness import LiveGateway, last_request
from tests.worker.live import LiveWorker, require_ready

RERANKER = "e5-small-bi-encoder-rerank"
PANDA_TEXT = ("The giant panda (Ailuropoda melanoleuca), sometimes called a panda bear or simply panda, is a bear "
              "species endemic to China.")
PANDA = ["hi", "it is a bear", PANDA_TEXT]

# The spec's example (spec/inference-apis.md, "Jina-Compatible Rerank API"), verbatim but for the host and,
# where noted, the model name.
SPEC_RERANK = """export GPUSTACK_API_KEY=your_api_key
curl http://your_gpustack_server_url/v1/rerank \\
    -H "Content-Type: application/json" \\
    -H "Authorization: Bearer $GPUSTACK_API_KEY" \\
    -d '{
        "model": "bge-reranker-v2-m3",
        "query": "What is a panda?",
        "top_n": 3,
        "documents": [
            "hi",
            "it is a bear",
            "The giant panda (Ailuropoda melanoleuca), sometimes called a panda bear or simply panda, is a bear species endemic to China."
        ]
    }' | jq
"""


def run_spec_example(script: str, gateway: LiveGateway, key: str, model: str | None = None) -> object:
    """Run a spec curl example in bash with the host and key substituted (and the model, when given)."""
    script = script.replace("your_api_key", key).replace("http://your_gpustack_server_url", gateway.url)
    if model is not None:
        script = script.replace('"bge-reranker-v2-m3"', json.dumps(model))
    done = subprocess.run(["bash", "-o", "pipefail", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def post(gateway: LiveGateway, path: str, body: object, key: str | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {key or gateway.admin_key}"}
    return httpx.post(gateway.url + path, json=body, headers=headers, timeout=120)


def assert_panda_ranking(answer: dict[str, object], model: str) -> None:
    assert answer["model"] == model and answer["object"] == "list"
    results = answer["results"]
    assert isinstance(results, list) and len(results) == 3
    assert results[0]["index"] == 2
    assert results[0]["document"] == {"text": PANDA_TEXT}
    scores = [r["relevance_score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    usage = answer["usage"]
    assert isinstance(usage, dict) and usage["prompt_tokens"] == usage["total_tokens"] > 0


# -- against the fake upstream (Jina rerank relayed as bytes)


@pytest.fixture(scope="module")
def alias(gateway: LiveGateway, fake: FakeUpstream) -> str:
    """`bge-reranker-v2-m3`, the spec's model name, served by the fake under its own name `fake-model`."""
    gateway.deploy("bge-reranker-v2-m3", [fake.url], upstream_model="fake-model", category="reranker")
    return "bge-reranker-v2-m3"


def test_spec_example_verbatim_on_an_alias(gateway: LiveGateway, alias: str, fake: FakeUpstream) -> None:
    answer = run_spec_example(SPEC_RERANK, gateway, gateway.admin_key)
    assert isinstance(answer, dict)
    assert_panda_ranking(answer, alias)
    received = last_request(fake, "/v1/rerank")
    assert orjson.loads(received.body)["model"] == "fake-model"  # renamed for the upstream, back for the client


def test_rerank_bytes_are_relayed_unchanged(gateway: LiveGateway, fake: FakeUpstream) -> None:
    body = b'{"model":"fake-model","query":"bear","documents":[{"text":"a bear"},"a cat"],"top_n":1,"extra":[1]}'
    response = httpx.post(gateway.v1 + "/rerank", content=body, timeout=30, headers={
        "authorization": f"Bearer {gateway.admin_key}", "content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert last_request(fake, "/v1/rerank").body == body
    assert [r["index"] for r in response.json()["results"]] == [0]


@pytest.mark.parametrize(("body", "param"), [
    ({"query": "q", "documents": []}, "documents"),
    ({"query": "q"}, "documents"),
    ({"documents": ["a"]}, "query"),
    ({"query": "q", "documents": ["a", "b"], "top_n": 0}, "top_n"),
    ({"query": "q", "documents": ["a", "b"], "top_n": 3}, "top_n"),
    ({"query": "q", "documents": ["a", 7]}, "documents[1]"),
    ({"query": "q", "documents": ["d"] * 1001}, "documents"),
])
@pytest.mark.parametrize("path", ["/v1/rerank", "/v2/rerank"])
def test_bad_requests_get_openai_shaped_400s(gateway: LiveGateway, body: dict[str, object], param: str,
                                             path: str) -> None:
    response = post(gateway, path, {"model": "fake-model", **body})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"]


def test_missing_and_unknown_model(gateway: LiveGateway) -> None:
    assert post(gateway, "/v1/rerank", {"query": "q", "documents": ["a"]}).json()["error"]["code"] == "missing_model"
    response = post(gateway, "/v1/rerank", {"model": "nope", "query": "q", "documents": ["a"]})
    assert response.status_code == 404 and response.json()["error"]["code"] == "model_not_found"


def test_document_limit_is_configurable(tmp_path: Path, fake: FakeUpstream) -> None:
    with LiveGateway(tmp_path / "gw", "--max-rerank-documents", "2") as live:
        live.deploy("fake-model", [fake.url])
        assert post(live, "/v1/rerank", {"model": "fake-model", "query": "q", "documents": ["a", "b"]}).is_success
        response = post(live, "/v1/rerank", {"model": "fake-model", "query": "q", "documents": ["a", "b", "c"]})
        assert response.status_code == 400 and response.json()["error"]["code"] == "too_many_documents"


def test_cohere_v2_over_a_jina_instance(gateway: LiveGateway, fake: FakeUpstream) -> None:
    body = {"model": "fake-model", "query": "giant panda", "documents": ["a cat", "the giant panda", "a panda"],
            "top_n": 2, "max_tokens_per_doc": 512}
    answer = post(gateway, "/v2/rerank", body).json()
    assert [r["index"] for r in answer["results"]] == [1, 2]
    assert all(set(r) == {"index", "relevance_score"} for r in answer["results"])
    assert answer["meta"]["billed_units"] == {"search_units": 1} and answer["id"]
    sent = orjson.loads(last_request(fake, "/v1/rerank").body)
    assert sent == {"model": "fake-model", "query": "giant panda", "documents": body["documents"], "top_n": 2,
                    "return_documents": False}
    with_docs = post(gateway, "/v2/rerank", {**body, "return_documents": True}).json()
    assert with_docs["results"][0]["document"] == {"text": "the giant panda"}


def test_instance_errors_keep_their_status(gateway: LiveGateway) -> None:
    body = {"model": "fake-model", "query": "q", "documents": ["a"]}
    headers = {"authorization": f"Bearer {gateway.admin_key}", "x-fake-status": "429"}
    for path in ("/v1/rerank", "/v2/rerank"):
        response = httpx.post(gateway.url + path, json=body, headers=headers, timeout=30)
        assert response.status_code == 429, response.text


# -- a TEI-speaking instance: the e5 worker's native /rerank, deployed as a remote URL with `api: tei`


@pytest.fixture(scope="module")
def tei(gateway: LiveGateway, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_ready(RERANKER)
    with LiveWorker("e5", RERANKER, tmp_path_factory.mktemp("tei")) as worker:
        gateway.deploy("tei-reranker", [worker.url + "/v1"], upstream_key=worker.secret, category="reranker",
                       engine_args={"api": "tei"})
        yield "tei-reranker"
        gateway.api("DELETE", "/api/deployments/tei-reranker")


def test_jina_rerank_translated_for_tei(gateway: LiveGateway, tei: str) -> None:
    answer = post(gateway, "/v1/rerank", {"model": tei, "query": "What is a panda?", "documents": PANDA,
                                          "top_n": 3}).json()
    assert_panda_ranking(answer, tei)
    estimate = estimate_tokens("What is a panda?", PANDA)  # TEI's answer has no counts; the worker no header
    assert answer["usage"] == {"prompt_tokens": estimate, "total_tokens": estimate}
    top = post(gateway, "/v1/rerank", {"model": tei, "query": "What is a panda?", "documents": PANDA, "top_n": 1,
                                       "return_documents": False}).json()
    assert top["results"] == [{"index": 2, "relevance_score": answer["results"][0]["relevance_score"]}]


def test_cohere_rerank_translated_for_tei(gateway: LiveGateway, tei: str) -> None:
    answer = post(gateway, "/v2/rerank", {"model": tei, "query": "What is a panda?",
                                          "documents": [{"text": d} for d in PANDA], "top_n": 2,
                                          "return_documents": True}).json()
    assert answer["results"][0]["index"] == 2 and len(answer["results"]) == 2
    assert answer["results"][0]["document"] == {"text": PANDA_TEXT}
    assert answer["meta"]["api_version"] == {"version": "2"}


def test_tei_errors_come_back_openai_shaped(gateway: LiveGateway, tei: str) -> None:
    response = post(gateway, "/v1/rerank", {"model": tei, "query": "q", "documents": [{"image": "x"}]})
    assert response.status_code == 400 and response.json()["error"]["param"] == "documents[0]"


# -- the built-in e5 reranker, deployed by default


def test_spec_example_on_the_builtin_reranker(builtin_gateway: LiveGateway) -> None:
    answer = run_spec_example(SPEC_RERANK, builtin_gateway, builtin_gateway.admin_key, model=RERANKER)
    assert isinstance(answer, dict)
    assert_panda_ranking(answer, RERANKER)


def test_cohere_v2_on_the_builtin_reranker(builtin_gateway: LiveGateway) -> None:
    key = builtin_gateway.create_key("cohere", models=[RERANKER])
    answer = post(builtin_gateway, "/v2/rerank", {"model": RERANKER, "query": "What is a panda?",
                                                  "documents": PANDA, "top_n": 1}, key=key).json()
    assert [r["index"] for r in answer["results"]] == [2]
    assert answer["meta"]["billed_units"] == {"search_units": 1}
