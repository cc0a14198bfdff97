"""The out-of-the-box experience: `modelport serve` with the built-in models, through the gateway."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

from modelport.engines.catalog import find_entry
from tests.harness import LiveGateway

SYSTEM = {"role": "system", "content": "Answer in one short sentence."}
CAPITAL = [SYSTEM, {"role": "user", "content": "What is the capital of France?"}]
CHAT_MODEL = "smollm2-135m-instruct"


@pytest.fixture(scope="module")
def served(builtin_gateway: LiveGateway) -> LiveGateway:
    return builtin_gateway


@pytest.fixture(scope="module")
def client(served: LiveGateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.v1, api_key=served.admin_key, max_retries=0)


def test_defaults_are_deployed_and_ready(served: LiveGateway) -> None:
    shown = served.cli("deployments").stdout
    for name in (CHAT_MODEL, "all-minilm-l6-v2", "e5-small-bi-encoder-rerank"):
        assert name in shown
    assert shown.count(" ready ") >= 3


def test_chat_answers_paris(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model=CHAT_MODEL, messages=CAPITAL, temperature=0, max_tokens=20)
    assert "Paris" in (reply.choices[0].message.content or "")
    assert reply.model == CHAT_MODEL


def test_stream_and_non_stream_agree_with_right_usage(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model=CHAT_MODEL, messages=CAPITAL, temperature=0, max_tokens=20)
    chunks = list(client.chat.completions.create(model=CHAT_MODEL, messages=CAPITAL, temperature=0, max_tokens=20,
                                                 stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == whole.choices[0].message.content
    usage = chunks[-1].usage
    assert usage is not None and whole.usage is not None
    assert usage.completion_tokens == whole.usage.completion_tokens
    assert usage.prompt_tokens == whole.usage.prompt_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_completions(client: openai.OpenAI) -> None:
    result = client.completions.create(model=CHAT_MODEL, prompt="The capital of France is", max_tokens=4,
                                       temperature=0)
    assert result.choices[0].finish_reason in {"length", "stop"}
    assert result.usage is not None and result.usage.completion_tokens <= 4


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=False)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_embeddings_rank_paraphrases_closer(client: openai.OpenAI) -> None:
    texts = ["The cat sat on the mat.", "A cat was sitting on the rug.", "Stock markets fell sharply today."]
    vectors = [d.embedding for d in client.embeddings.create(model="all-minilm-l6-v2", input=texts).data]
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.2


def test_rerank_puts_the_right_document_first(served: LiveGateway) -> None:
    body = {
        "model": "e5-small-bi-encoder-rerank",
        "query": "What is a panda?",
        "top_n": 3,
        "documents": ["hi", "it is a bear", "The giant panda (Ailuropoda melanoleuca), sometimes called a panda bear "
                      "or simply panda, is a bear species endemic to China."],
    }
    response = httpx.post(served.v1 + "/rerank", json=body, headers={"authorization": f"Bearer {served.admin_key}"})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results[0]["index"] == 2
    assert [r["relevance_score"] for r in results] == sorted((r["relevance_score"] for r in results), reverse=True)


def test_own_gguf_file_deploys_with_one_command(served: LiveGateway, client: openai.OpenAI) -> None:
    entry = find_entry(CHAT_MODEL)
    assert entry is not None
    gguf = entry.resolve_model_path()
    served.cli("deploy", "my-gguf", "--engine", "llama.cpp", "--model", str(gguf))
    served.wait_ready("my-gguf", timeout=120)
    reply = client.chat.completions.create(model="my-gguf", messages=CAPITAL, temperature=0, max_tokens=20)
    assert "Paris" in (reply.choices[0].message.content or "")
    assert "starting" in served.cli("logs", "my-gguf").stdout
    served.cli("undeploy", "my-gguf")


def test_killed_instance_restarts_and_503s_in_between(served: LiveGateway, client: openai.OpenAI) -> None:
    instance = served.api("GET", f"/api/deployments/{CHAT_MODEL}").json()["instances"][0]
    shim_pid = instance["pid"]
    worker = int(subprocess.check_output(["pgrep", "-P", str(shim_pid)]).split()[0])
    os.kill(worker, signal.SIGKILL)
    body = {"model": CHAT_MODEL, "messages": CAPITAL, "max_tokens": 5}
    saw_503 = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        response = httpx.post(served.v1 + "/chat/completions", json=body, timeout=30,
                              headers={"authorization": f"Bearer {served.admin_key}"})
        if response.status_code == 503:
            saw_503 = True
            assert int(response.headers["retry-after"]) >= 1
        elif response.status_code == 200 and saw_503:
            break
        else:
            assert response.status_code == 200, response.text
        time.sleep(0.05)
    assert saw_503, "requests during the restart should get 503, not hang or fail otherwise"
    states = served.api("GET", f"/api/deployments/{CHAT_MODEL}").json()["instances"]
    assert states[0]["state"] == "ready" and states[0]["pid"] != shim_pid


def test_external_command_engine_with_replicas(served: LiveGateway) -> None:
    command = f"{sys.executable} -m modelport.testing --port {{port}} --model {{name}} --api-key {{secret}}"
    served.cli("deploy", "ext", "--command", command, "--replicas", "2", "--health-path", "/models")
    served.wait_ready("ext", timeout=60)
    deadline = time.monotonic() + 30
    instances = served.api("GET", "/api/deployments/ext").json()["instances"]
    while [i["state"] for i in instances] != ["ready", "ready"] and time.monotonic() < deadline:
        time.sleep(0.1)
        instances = served.api("GET", "/api/deployments/ext").json()["instances"]
    assert [i["state"] for i in instances] == ["ready", "ready"]
    assert instances[0]["url"] != instances[1]["url"]
    client = openai.OpenAI(base_url=served.v1, api_key=served.admin_key, max_retries=0)
    reply = client.chat.completions.create(model="ext", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "Echo: hi"
    served.cli("undeploy", "ext")


def test_a_command_that_cannot_start_ends_failed_with_a_reason(served: LiveGateway) -> None:
    served.cli("deploy", "broken", "--command", "false", "--engine-arg", "restart_backoff=0.05")
    deadline = time.monotonic() + 30
    state = {}
    while time.monotonic() < deadline:
        instances = served.api("GET", "/api/deployments/broken").json()["instances"]
        state = instances[0] if instances else {}
        if state.get("state") == "failed":
            break
        time.sleep(0.1)
    assert state["state"] == "failed" and "exited with status 1" in state["reason"]
    served.cli("undeploy", "broken")


def test_no_orphans_after_the_gateway_is_killed(tmp_path: Path) -> None:
    gateway = LiveGateway(tmp_path / "gw").start()
    command = f"{sys.executable} -m modelport.testing --port {{port}} --model {{name}}"
    gateway.cli("deploy", "orphan-check", "--command", command)
    gateway.wait_ready("orphan-check", timeout=60)
    pid = gateway.api("GET", "/api/deployments/orphan-check").json()["instances"][0]["pid"]
    children = subprocess.check_output(["pgrep", "-g", str(pid)]).split()
    assert len(children) >= 2
    gateway.stop(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while subprocess.run(["pgrep", "-g", str(pid)], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "instance processes outlived the gateway"
        time.sleep(0.1)
