"""The coding agents' CLIs, unmodified and non-interactive (tests/clients/node): Claude Code (`claude -p`) on
`/v1/messages` and Codex (`codex exec`, a custom provider on the Responses API), each pointed at the gateway
with the built-in chat model, a deployment not named like their vendors' models. Each runs with a home of its
own in a temporary folder, and no telemetry or other traffic beyond the gateway."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelport.testing import FakeUpstream
from tests.clients.conftest import CHAT, NODE_DIR, Served, client_env, run_json

BIN = NODE_DIR / "node_modules" / ".bin"
QUIET = {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1",
         "DISABLE_ERROR_REPORTING": "1"}


def claude(served: Served, home: Path, *args: str, max_output: int = 128, model: str = CHAT) -> dict[str, Any]:
    """`claude -p "Say hello" --output-format json ARGS`: the result object it prints (it exits 1 on an error)."""
    env = client_env(served, HOME=str(home), ANTHROPIC_BASE_URL=served.url, ANTHROPIC_AUTH_TOKEN=served.key,
                     CLAUDE_CODE_MAX_OUTPUT_TOKENS=str(max_output), **QUIET)
    argv = [str(BIN / "claude"), "-p", "Say hello", "--output-format", "json", "--model", model, *args]
    return run_json(argv, env, home, timeout=150, check=False)  # type: ignore[no-any-return]


def test_claude_code_answers(served: Served, node_modules: Path, tmp_path: Path,
                             instant_model: tuple[str, FakeUpstream]) -> None:
    # Its own system prompt and no tools: its default first request (~20,000 tokens with its tools) does not fit
    # the 8,192-token context of the built-in model. The rest is as Claude Code sends it: a system turn inside
    # `messages`, its beta headers, `thinking`, `context_management`, `output_config.effort`, streaming. Against
    # the fake-backed deployment: Claude Code sends no temperature, and the 135M model's answer then often runs
    # past any output cap (three tries in a row did in a CI run), which says nothing about the gateway.
    model, fake = instant_model
    done = claude(served, tmp_path, "--tools", "", "--system-prompt", "You reply with a single word.", model=model)
    assert not done["is_error"] and done["result"].strip() and done["terminal_reason"] == "completed", done
    assert done["modelUsage"][model]["inputTokens"] > 0
    chats = [json.loads(r.body) for r in fake.requests if r.path.endswith("/chat/completions")]
    system = [str(m["content"]) for m in chats[-1]["messages"] if m["role"] == "system"]
    assert any("You reply with a single word." in text for text in system)  # its system prompt reached the backend


def test_claude_code_recognises_its_default_prompt_as_too_long(served: Served, node_modules: Path,
                                                              tmp_path: Path) -> None:
    # Its default first request (its system prompt and tools) is past the built-in model's 8,192 tokens: the
    # overflow in Anthropic's words is what Claude Code recognises (to compact, or to say what to trim)
    result = claude(served, tmp_path)
    assert result["is_error"] and result["terminal_reason"] == "prompt_too_long", result
    assert result["result"].startswith("Prompt is too long")


def codex(served: Served, tmp_path: Path, *config: str, model: str = CHAT) -> list[dict[str, Any]]:
    """`codex exec --json "Say hello"` with a provider `modelport` on the gateway's Responses API: its events.

    Codex sends no output limit, and its own instructions (~6,400 tokens) take the built-in model a long time
    to read on one CPU thread, so it gets a one-line instructions file instead; the rest is Codex's own."""
    (tmp_path / "instructions.md").write_text("You are a coding agent. Reply in one short sentence.\n")
    (tmp_path / "work").mkdir(exist_ok=True)
    provider = f'{{name="modelport", base_url="{served.v1}", env_key="MODELPORT_KEY", wire_api="responses"}}'
    settings = [f"model_providers.modelport={provider}", "model_provider=modelport",
                f"model_instructions_file={tmp_path / 'instructions.md'}", "include_environment_context=false",
                "include_permissions_instructions=false", "include_apps_instructions=false",
                "include_collaboration_mode_instructions=false", *config]
    argv = [str(BIN / "codex"), "exec", "--json", "--skip-git-repo-check", "--sandbox", "read-only",
            "-C", str(tmp_path / "work"), "-m", model, *(arg for s in settings for arg in ("-c", s)), "Say hello"]
    env = client_env(served, HOME=str(tmp_path), CODEX_HOME=str(tmp_path))
    result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=240,
                            stdin=subprocess.DEVNULL)
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def assert_answered(events: list[dict[str, Any]]) -> None:
    messages = [e["item"]["text"] for e in events
                if e["type"] == "item.completed" and e["item"]["type"] == "agent_message"]
    assert events[-1]["type"] == "turn.completed", events
    assert messages and messages[-1].strip()
    assert events[-1]["usage"]["input_tokens"] > 0 and events[-1]["usage"]["output_tokens"] > 0


@pytest.fixture(scope="module")
def capped_chat(served: Served) -> Iterator[str]:
    """The built-in chat model sampling at temperature 0 when a request sets none (engine arg `temperature`,
    like Ollama's Modelfile parameter). Codex sends neither a temperature nor an output limit: at 1.0 the 135M
    model's answer can run on to the end of its context, minutes on one CPU thread (a CI run timed out at
    240 s), and an output cap (`max_tokens`) ends the turn as `incomplete`, which Codex reports as failed."""
    spec = {"name": "codex-smollm2", "engine": "llama.cpp", "model": CHAT,
            "engine_args": {"temperature": "0", "max_tokens": "512", "parallel": "1"}}
    assert served.gateway.api("POST", "/api/deployments", spec).status_code == 201
    served.gateway.wait_ready("codex-smollm2", timeout=180)
    yield "codex-smollm2"
    served.gateway.api("DELETE", "/api/deployments/codex-smollm2")


def test_codex_exec_answers(served: Served, node_modules: Path, tmp_path: Path, capped_chat: str) -> None:
    # Without its sub-agent tools (a `namespace` tool) and its hosted `web_search`: see the next test
    assert_answered(codex(served, tmp_path, "features.multi_agent=false", "web_search=disabled", model=capped_chat))


@pytest.fixture(scope="module")
def instant_model(served: Served) -> Iterator[tuple[str, FakeUpstream]]:
    """A deployment on the fake upstream (modelport.testing), which answers at once: Codex's default request
    (its whole instructions and every tool) would take the one-thread built-in model minutes to read."""
    fake = FakeUpstream()
    fake.start_in_thread()
    served.gateway.deploy("codex-instant", [fake.url], upstream_model="fake-model")
    yield "codex-instant", fake
    served.gateway.api("DELETE", "/api/deployments/codex-instant")
    fake.stop_thread()


def test_codex_exec_with_its_default_tools(served: Served, node_modules: Path, tmp_path: Path,
                                           instant_model: tuple[str, FakeUpstream]) -> None:
    # Codex's defaults offer a `namespace` of sub-agent function tools and the hosted `web_search`: the
    # namespace's tools are offered as plain functions, the hosted tool is left out, and the turn completes
    model, fake = instant_model
    assert_answered(codex(served, tmp_path, model=model))
    chats = [json.loads(r.body) for r in fake.requests if r.path.endswith("/chat/completions")]
    offered = {tool["function"]["name"] for tool in chats[-1]["tools"]}
    assert "spawn_agent" in offered and all(tool["type"] == "function" for tool in chats[-1]["tools"])
