"""LlamaIndex's `OpenAILike`, unmodified, on the built-in chat model: chat, streamed chat and complete. It runs
in a venv of its own (scripts/ensure-clients): LlamaIndex caps openai below the release the suite tests."""

from __future__ import annotations

import pytest

from tests.clients.conftest import HERE, LLAMAINDEX_PYTHON, Served, client_env, run_json


def test_openai_like_chat_stream_and_complete(served: Served) -> None:
    if not LLAMAINDEX_PYTHON.exists():
        pytest.fail("LlamaIndex is not installed: run scripts/ensure-clients (scripts/test does)")
    answers = run_json([str(LLAMAINDEX_PYTHON), "check.py"], client_env(served), HERE / "llamaindex")
    assert answers["chat"].strip() and answers["complete"].strip()
    assert len(answers["stream"]) > 1 and "".join(answers["stream"]).strip()
