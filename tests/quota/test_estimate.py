"""What a request reserves: its prompt, estimated from its text, and its stated output, else its deployment's
default (the llama.cpp engine's own cap, else `reserve_output_tokens`, else 1,024)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.errors import BadRequest
from modelport.instances.launch import check_launchable, plan_launch
from modelport.quota.estimate import DEFAULT_MAX_TOKENS, estimate, output_reservation
from modelport.records import DeploymentSpec

CHAT = b'{"model": "m", "messages": [{"role": "user", "content": "Say something short."}]}'


def llama(**args: str) -> DeploymentSpec:
    return DeploymentSpec(name="chat", engine="llama.cpp", model="smollm2-135m-instruct", engine_args=args)


def test_an_unstated_output_takes_the_deployments_default() -> None:
    reservation = estimate("/v1/chat/completions", CHAT)
    assert (reservation.model, reservation.prompt, reservation.output) == ("m", 6, None)
    assert reservation.tokens() == 6 + DEFAULT_MAX_TOKENS
    assert reservation.tokens(200) == 206
    stated = estimate("/v1/chat/completions", CHAT[:-1] + b', "max_completion_tokens": 7}')
    assert stated.output == 7 and stated.tokens(200) == 13
    assert estimate("/v1/embeddings", b'{"model": "m", "input": "abcdefgh"}').tokens(500) == 2  # no output


@pytest.mark.parametrize(("spec", "reserved"), [
    (None, DEFAULT_MAX_TOKENS),
    (llama(), DEFAULT_MAX_TOKENS),
    (llama(max_tokens="200"), 200),  # what the engine generates at most for such a request
    (llama(max_tokens="200", reserve_output_tokens="900"), 200),
    (llama(reserve_output_tokens="900"), 900),
    (DeploymentSpec(name="v", engine="vllm", model="m", engine_args={"reserve_output_tokens": "512"}), 512),
    (DeploymentSpec(name="r", urls=("http://127.0.0.1:9/v1",), engine_args={"reserve_output_tokens": "0"}), 0),
    (DeploymentSpec(name="r", urls=("http://127.0.0.1:9/v1",), engine_args={"max_tokens": "64"}), DEFAULT_MAX_TOKENS),
])
def test_output_reservation_per_deployment(spec: DeploymentSpec | None, reserved: int) -> None:
    assert output_reservation(spec) == reserved


@pytest.mark.parametrize("spec", [
    llama(reserve_output_tokens="lots"),
    DeploymentSpec(name="v", engine="vllm", model="m", engine_args={"reserve_output_tokens": "-1"}),
    DeploymentSpec(name="r", urls=("http://127.0.0.1:9/v1",), engine_args={"reserve_output_tokens": "1.5"}),
    DeploymentSpec(name="c", engine="command", command=("srv", "{port}"), engine_args={"reserve_output_tokens": ""}),
])
def test_reserve_output_tokens_is_checked_for_every_kind_of_deployment(spec: DeploymentSpec) -> None:
    with pytest.raises(BadRequest) as caught:
        check_launchable(spec)
    assert caught.value.param == "engine_args" and "reserve_output_tokens" in str(caught.value)


def test_a_preset_engine_is_not_given_the_gateways_args(tmp_path: Path) -> None:
    spec = DeploymentSpec(name="v", engine="vllm", model="m",
                          engine_args={"max-model-len": "4096", "reserve_output_tokens": "512", "top_k": "false"})
    check_launchable(spec)
    argv = plan_launch(spec, 0, 9000, "k", tmp_path)
    assert argv.argv[-2:] == ["--max-model-len", "4096"] and "--reserve_output_tokens" not in argv.argv
