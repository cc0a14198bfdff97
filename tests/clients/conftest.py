"""The client suite: real client libraries and CLIs, installed by scripts/ensure-clients and the `test` extra,
pointed unmodified at one live `modelport serve` with the built-in models (the session's `builtin_gateway`)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.harness import LiveGateway

CHAT = "smollm2-135m-instruct"
EMBED = "all-minilm-l6-v2"
SPEECH = "piper-en-us-joe"
STT = "whisper-tiny-en"
HERE = Path(__file__).parent
NODE_DIR = HERE / "node"
LLAMAINDEX_PYTHON = HERE / "llamaindex" / ".venv" / "bin" / "python"

# litellm fetches its model price list from the internet when imported unless told to read its bundled copy
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@dataclass(frozen=True)
class Served:
    """The gateway the clients talk to and the (non-admin) key they use."""

    gateway: LiveGateway
    key: str

    @property
    def url(self) -> str:
        return self.gateway.url

    @property
    def v1(self) -> str:
        return self.gateway.v1


@pytest.fixture(scope="session")
def served(builtin_gateway: LiveGateway) -> Served:
    return Served(builtin_gateway, builtin_gateway.create_key("client-suite"))


def tiktoken_cache_dir() -> str:
    """A directory holding tiktoken's cl100k_base file without the network: litellm ships it (under the cache
    name tiktoken gives it, with the hash tiktoken checks), so tiktoken reads it there instead of downloading."""
    spec = importlib.util.find_spec("litellm")
    assert spec is not None and spec.submodule_search_locations, "litellm (the test extra) is not installed"
    return str(Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers")


@pytest.fixture(scope="session", autouse=True)
def offline_tiktoken() -> Iterator[None]:
    before = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = tiktoken_cache_dir()
    yield
    if before is None:
        os.environ.pop("TIKTOKEN_CACHE_DIR", None)
    else:
        os.environ["TIKTOKEN_CACHE_DIR"] = before


def client_env(served: Served, **extra: str) -> dict[str, str]:
    """The environment a client process gets: the gateway's address and key, no proxy, nothing of ours."""
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(MODELPORT_URL=served.url, MODELPORT_KEY=served.key, NO_PROXY="127.0.0.1,localhost", **extra)
    return env


def run_json(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 90, check: bool = True) -> Any:
    """Run a client process, and parse the JSON its last stdout line is; fail with its output otherwise (or,
    when `check`, when it exits non-zero)."""
    result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    lines = result.stdout.strip().splitlines()
    if (check and result.returncode != 0) or not lines or not lines[-1].startswith("{"):
        raise AssertionError(f"{argv[:3]} exited {result.returncode}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return json.loads(lines[-1])


@pytest.fixture(scope="session")
def node_modules() -> Path:
    modules = NODE_DIR / "node_modules"
    if not (modules / ".modelport-stamp").exists():
        pytest.fail("the Node clients are not installed: run scripts/ensure-clients (scripts/test does)")
    return modules


def run_node(served: Served, check: str, timeout: float = 90) -> Any:
    """One named check of tests/clients/node/checks.mjs against the gateway; its JSON result."""
    return run_json(["node", "checks.mjs", check], client_env(served), NODE_DIR, timeout)
