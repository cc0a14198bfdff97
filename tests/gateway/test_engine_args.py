"""Engine args reach built-in engines (`n_ctx` sets the chat context; unknown args are 400s), and an
embeddings instance admits and batches many concurrent requests through the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import openai
import pytest

from tests.harness import LiveGateway
from tests.worker.live import require_ready

CHAT_MODEL = "smollm2-135m-instruct"
EMBED_MODEL = "all-minilm-l6-v2"
CONTEXT = 10240  # more than the default (8,192: SmolLM2's training context)


@pytest.fixture(scope="module")
def long_context(gateway: LiveGateway) -> Iterator[str]:
    require_ready(CHAT_MODEL)
    gateway.cli("deploy", "long-chat", "--engine", "llama.cpp", "--model", CHAT_MODEL,
                "--engine-arg", f"n_ctx={CONTEXT}", "--engine-arg", "n_batch=1024", "--generic-proxy")
    gateway.wait_ready("long-chat", timeout=180)
    yield "long-chat"
    gateway.cli("undeploy", "long-chat")


@pytest.fixture(scope="module")
def client(gateway: LiveGateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=gateway.admin_key, max_retries=0, timeout=300)


def _words(count: int) -> str:
    return " ".join(f"w{i % 10}" for i in range(count))


def test_the_configured_context_reaches_the_engine(
    gateway: LiveGateway, client: openai.OpenAI, long_context: str
) -> None:
    content = _words(4400)  # longer than the default context: the engine must hold the configured one
    response = gateway.api("POST", "/model/proxy/v1/tokenize",
                           {"model": long_context, "messages": [{"role": "user", "content": content}]})
    assert response.status_code == 200, response.text
    counted = response.json()
    assert counted["max_model_len"] == CONTEXT and 8192 < counted["count"] < CONTEXT
    # Evaluating ~8,800 prompt tokens takes minutes on these CPUs; tests/engines/test_llamacpp_context.py
    # shows the engine accepts it. Here, a short reply proves the deployment serves with that context.
    reply = client.chat.completions.create(model=long_context, messages=[{"role": "user", "content": "Hi"}],
                                           max_tokens=2, temperature=0)
    assert reply.usage is not None and reply.usage.completion_tokens <= 2


def test_a_prompt_past_the_configured_context_names_its_size(client: openai.OpenAI, long_context: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=long_context, messages=[{"role": "user", "content": _words(5600)}],
                                       max_tokens=2)
    assert f"maximum context length is {CONTEXT} tokens" in str(caught.value)


@pytest.mark.parametrize("args", [{"n_context": "16384"}, {"n_ctx": "lots"}, {"max_queue": "-3"}])
def test_an_arg_the_engine_does_not_take_is_a_400(gateway: LiveGateway, args: dict[str, str]) -> None:
    spec = {"name": "bad-args", "engine": "llama.cpp", "model": CHAT_MODEL, "engine_args": args}
    response = gateway.api("POST", "/api/deployments", spec)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "engine_args" and next(iter(args)) in error["message"]
    assert gateway.api("GET", "/api/deployments/bad-args").status_code == 404


def test_the_cli_says_which_arg_is_wrong(gateway: LiveGateway) -> None:
    result = gateway.cli("deploy", "bad-cli", "--model", "all-minilm-l6-v2", "--engine-arg", "n_ctx=4096",
                         check=False)
    assert result.returncode != 0 and "n_ctx" in result.stderr and "max_batch_tokens" in result.stderr


async def test_100_concurrent_embedding_requests_through_the_gateway_all_succeed(gateway: LiveGateway) -> None:
    """One instance, 100 clients at once: admitted (the line holds 512) and batched, none refused."""
    require_ready(EMBED_MODEL)
    gateway.cli("deploy", "busy-embed", "--model", EMBED_MODEL, "--engine-arg", "max_batch_requests=32")
    try:
        gateway.wait_ready("busy-embed", timeout=120)
        client = openai.AsyncOpenAI(base_url=gateway.v1, api_key=gateway.admin_key, max_retries=0, timeout=120)
        sentences = [f"Request {i} asks about topic {i % 13}." for i in range(100)]
        answers = await asyncio.gather(*(client.embeddings.create(model="busy-embed", input=s) for s in sentences))
        alone = await client.embeddings.create(model="busy-embed", input=sentences[7])
        assert answers[7].data[0].embedding == pytest.approx(alone.data[0].embedding, abs=1e-4)
        assert all(len(a.data) == 1 and a.usage.prompt_tokens > 0 for a in answers)
        await client.close()
    finally:
        gateway.cli("undeploy", "busy-embed")
