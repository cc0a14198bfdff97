"""README's "Works with" table names the versions the client suite runs: its pins, read where they are kept."""

from __future__ import annotations

import json
import re
from importlib.metadata import version

from tests.clients.conftest import HERE

README = HERE.parent.parent / "README.md"


def node_version(package: str) -> str:
    lock = json.loads((HERE / "node" / "package-lock.json").read_text())
    return str(lock["packages"][f"node_modules/{package}"]["version"])


def llamaindex_version(package: str) -> str:
    pins = dict(line.split("==") for line in (HERE / "llamaindex" / "requirements.txt").read_text().splitlines()
                if "==" in line)
    return pins[package]


def table() -> dict[str, str]:
    """Each row's client cell and version cell."""
    section = README.read_text().split("## Works with", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    return {cells[0].removeprefix("| "): cells[1] for cells in rows[1:]}


def test_the_table_names_the_pinned_versions() -> None:
    expected = {
        "`openai` (Python)": version("openai"),
        "`anthropic` (Python)": version("anthropic"),
        "LangChain `langchain-openai`": version("langchain-openai"),
        "LangChain `langchain-anthropic`": version("langchain-anthropic"),
        "LlamaIndex `llama-index-llms-openai-like`": llamaindex_version("llama-index-llms-openai-like"),
        "`litellm`": version("litellm"),
        "`openai` (Node)": node_version("openai"),
        "`@anthropic-ai/sdk` (Node)": node_version("@anthropic-ai/sdk"),
        "Vercel AI SDK `ai` + `@ai-sdk/openai`": f"{node_version('ai')} + {node_version('@ai-sdk/openai')}",
        "`@ai-sdk/openai-compatible`": node_version("@ai-sdk/openai-compatible"),
        "Claude Code (`@anthropic-ai/claude-code`)": node_version("@anthropic-ai/claude-code"),
        "Codex (`@openai/codex`)": node_version("@openai/codex"),
    }
    rows = table()
    assert set(rows) == set(expected)
    for client, pinned in expected.items():
        assert re.match(re.escape(pinned) + r"\b", rows[client]), (client, rows[client], pinned)
