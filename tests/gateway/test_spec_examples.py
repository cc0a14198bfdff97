"""The chat and Messages curl examples of spec/inference-apis.md, run verbatim (host and key changed) on a
deployment named as in the spec, served by the built-in llama.cpp engine. (Rerank and the generic proxy:
test_rerank.py and test_proxy.py.)"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.harness import LiveGateway

SPEC_CHAT = """export GPUSTACK_API_KEY=your_api_key
curl http://your_gpustack_server_url/v1/chat/completions \\
  -H "Content-Type: application/json" \\
  -H "Authorization: Bearer $GPUSTACK_API_KEY" \\
  -d '{
    "model": "qwen3",
    "messages": [
      {
        "role": "system",
        "content": "You are a helpful assistant."
      },
      {
        "role": "user",
        "content": "Hello!"
      }
    ],
    "stream": true
  }'
"""

SPEC_MESSAGES = """export GPUSTACK_API_KEY=your_api_key
curl http://your_gpustack_server_url/v1/messages \\
  -H "Content-Type: application/json" \\
  -H "Authorization: Bearer $GPUSTACK_API_KEY" \\
  -d '{
    "model": "qwen3",
    "messages": [
      {
        "role": "user",
        "content": "Hello!"
      }
    ],
    "max_tokens": 1024
  }'
"""


@pytest.fixture(scope="module")
def qwen3(builtin_gateway: LiveGateway) -> LiveGateway:
    names = [d["name"] for d in builtin_gateway.api("GET", "/api/deployments").json()["data"]]
    if "qwen3" not in names:
        builtin_gateway.cli("deploy", "qwen3", "--engine", "llama.cpp", "--model", "smollm2-135m-instruct")
    builtin_gateway.wait_ready("qwen3", timeout=120)
    return builtin_gateway


def run(script: str, gateway: LiveGateway) -> str:
    script = script.replace("your_api_key", gateway.admin_key).replace("http://your_gpustack_server_url", gateway.url)
    done = subprocess.run(["bash", "-o", "pipefail", "-c", script.rstrip() + " --fail-with-body --silent --show-error"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_chat_example_streams(qwen3: LiveGateway) -> None:
    events = [line[6:] for line in run(SPEC_CHAT, qwen3).splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert {chunk["model"] for chunk in chunks} == {"qwen3"}
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk["choices"])
    assert text.strip()


def test_messages_example(qwen3: LiveGateway) -> None:
    message = json.loads(run(SPEC_MESSAGES, qwen3))
    assert message["type"] == "message" and message["model"] == "qwen3"
    assert message["content"][0]["type"] == "text" and message["content"][0]["text"].strip()
    assert message["stop_reason"] in {"end_turn", "max_tokens"}
