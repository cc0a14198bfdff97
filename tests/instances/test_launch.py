"""Launch plans: what the supervisor runs for each kind of engine."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from modelport.errors import BadRequest
from modelport.instances.launch import PRESETS, check_launchable, plan_launch
from modelport.records import DeploymentSpec


def test_built_in_engine_runs_under_modelport_worker(tmp_path: Path) -> None:
    spec = DeploymentSpec(name="chat", engine="llama.cpp", model="smollm2-135m-instruct", engine_args={"threads": "2"})
    plan = plan_launch(spec, 1, 4321, "s3cret", tmp_path)
    assert plan.argv[:3] == [sys.executable, "-m", "modelport.worker"]
    assert plan.argv[plan.argv.index("--threads") + 1] == "2"
    assert plan.argv[plan.argv.index("--served-name") + 1] == "chat"
    assert "s3cret" not in " ".join(plan.argv)  # secrets travel in the environment, not in `ps`
    assert plan.env["MODELPORT_INSTANCE_SECRET"] == "s3cret"
    assert plan.env["OMP_WAIT_POLICY"] == "PASSIVE"
    assert plan.base_url == "http://127.0.0.1:4321/v1"
    assert plan.log_path == tmp_path / "chat-1.log"
    assert plan.argv[plan.argv.index("--max-upload-mb") + 1] == "100"  # the gateway's default limit
    bigger = plan_launch(spec, 1, 4321, "s3cret", tmp_path, max_body_bytes=300 * 1024 * 1024 + 1)
    assert bigger.argv[bigger.argv.index("--max-upload-mb") + 1] == "301"  # never below the gateway's


@pytest.mark.parametrize("engine", sorted(PRESETS))
def test_presets_bind_loopback_and_set_name_and_key(engine: str, tmp_path: Path) -> None:
    spec = DeploymentSpec(name="qwen3", engine=engine, model="Qwen/Qwen3-8B", engine_args={"max-model-len": "4096"})
    plan = plan_launch(spec, 0, 9000, "k", tmp_path)
    argv = plan.argv
    assert "127.0.0.1" in argv and "9000" in argv and "qwen3" in argv and "Qwen/Qwen3-8B" in argv
    preset = PRESETS[engine]
    if preset.secret_env:  # out of sight of `ps`
        assert plan.env[preset.secret_env] == "k" and "k" not in argv
    else:
        assert argv[argv.index("--api-key") + 1] == "k"
    assert argv[-2:] == ["--max-model-len", "4096"]
    assert plan.health_url == "http://127.0.0.1:9000/health"


def test_custom_command_placeholders(tmp_path: Path) -> None:
    spec = DeploymentSpec(name="mine", engine="command",
                          command=("my-server", "--port={port}", "--name", "{name}"), health_path="/models")
    plan = plan_launch(spec, 0, 7000, "k", tmp_path)
    assert plan.argv == ["my-server", "--port=7000", "--name", "mine"]
    assert plan.health_url == "http://127.0.0.1:7000/v1/models"


@pytest.mark.parametrize(
    "spec",
    [
        DeploymentSpec(name="x", engine="llama.cpp"),
        DeploymentSpec(name="x", engine="vllm"),
        DeploymentSpec(name="x", engine="warp-drive", model="m"),
    ],
)
def test_unlaunchable_specs_are_400(spec: DeploymentSpec) -> None:
    with pytest.raises(BadRequest):
        check_launchable(spec)


def test_built_in_engine_args_reach_the_worker(tmp_path: Path) -> None:
    args = {"n_ctx": "16384", "threads": "2", "max_queue": "8", "startup_timeout": "30"}
    spec = DeploymentSpec(name="chat", engine="llama.cpp", model="smollm2-135m-instruct", engine_args=args)
    check_launchable(spec)
    argv = plan_launch(spec, 0, 4321, "k", tmp_path).argv
    passed = [argv[i + 1] for i, part in enumerate(argv) if part == "--engine-arg"]
    assert passed == ["n_ctx=16384", "max_queue=8"]  # the gateway's own startup_timeout stays behind
    assert argv[argv.index("--threads") + 1] == "2"


@pytest.mark.parametrize("args", [{"n_ctx": "lots"}, {"batch_size": "64"}, {"contex": "4096"}])
def test_built_in_engine_refuses_args_it_does_not_take(args: dict[str, str]) -> None:
    spec = DeploymentSpec(name="x", engine="llama.cpp", model="smollm2-135m-instruct", engine_args=args)
    with pytest.raises(BadRequest) as caught:
        check_launchable(spec)
    assert caught.value.param == "engine_args"


def test_external_engines_take_any_args() -> None:
    check_launchable(DeploymentSpec(name="x", engine="vllm", model="m", engine_args={"max-model-len": "8192"}))
