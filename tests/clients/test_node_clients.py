"""The Node clients, unmodified (tests/clients/node, pinned by its package-lock.json): the `openai` and
`@anthropic-ai/sdk` SDKs and the Vercel AI SDK (its default `openai()` provider on the Responses API, and
`@ai-sdk/openai-compatible` on chat). Each group runs once in `node checks.mjs GROUP`; the tests read its answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import Served, run_node
from tests.clients.test_openai_python import gateway_embedding


@pytest.fixture(scope="module")
def openai_node(served: Served, node_modules: Path) -> dict[str, Any]:
    return run_node(served, "openai")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def anthropic_node(served: Served, node_modules: Path) -> dict[str, Any]:
    return run_node(served, "anthropic")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def ai_sdk(served: Served, node_modules: Path) -> dict[str, Any]:
    return run_node(served, "ai-sdk")  # type: ignore[no-any-return]


def test_openai_node_chat_and_stream(openai_node: dict[str, Any]) -> None:
    assert openai_node["chat"].strip()
    assert len(openai_node["stream"]) > 1 and "".join(openai_node["stream"]).strip()


def test_openai_node_forced_tool_call(openai_node: dict[str, Any]) -> None:
    assert openai_node["tool"]["name"] == "get_weather"
    assert isinstance(json.loads(openai_node["tool"]["arguments"])["city"], str)


def test_openai_node_embeddings_are_the_gateways(openai_node: dict[str, Any], served: Served) -> None:
    vector = openai_node["embedding"]  # the SDK asks for base64 and decodes it
    assert len(vector) == 384
    assert vector == pytest.approx(gateway_embedding(served, "The cat sat on the mat."), abs=1e-6)


def test_openai_node_responses_create_and_stream(openai_node: dict[str, Any]) -> None:
    assert openai_node["response"].strip()
    assert len(openai_node["response_deltas"]) > 1
    assert "".join(openai_node["response_deltas"]) == openai_node["response_streamed"]


def test_openai_node_speech_comes_back_as_the_words_in_a_transcription(openai_node: dict[str, Any]) -> None:
    assert openai_node["speech_header"] == "RIFF"  # the SDK's binary answer: a WAV file
    heard = openai_node["transcription"].lower()  # sent back as a multipart upload by the SDK's toFile
    assert "hello" in heard and "friend" in heard


def test_anthropic_node_create_and_stream(anthropic_node: dict[str, Any]) -> None:
    assert anthropic_node["text"].strip() and anthropic_node["input_tokens"] > 0
    assert len(anthropic_node["deltas"]) > 1 and "".join(anthropic_node["deltas"]) == anthropic_node["final"]


def test_anthropic_node_forced_tool_and_count_tokens(anthropic_node: dict[str, Any]) -> None:
    tool = anthropic_node["tool"]
    assert tool["name"] == "get_weather" and isinstance(tool["input"]["city"], str)
    assert tool["stop_reason"] == "tool_use"
    assert anthropic_node["counted"] == anthropic_node["input_tokens"]


def test_ai_sdk_default_provider_on_the_responses_api(ai_sdk: dict[str, Any]) -> None:
    assert ai_sdk["responses"].strip()
    assert len(ai_sdk["responses_stream"]) > 1 and "".join(ai_sdk["responses_stream"]).strip()


def test_ai_sdk_chat_provider_on_chat_completions(ai_sdk: dict[str, Any]) -> None:
    assert ai_sdk["openai_chat"].strip()  # `openai.chat(model)`


def test_openai_compatible_generate_and_stream(ai_sdk: dict[str, Any]) -> None:
    assert ai_sdk["chat"].strip()
    assert len(ai_sdk["chat_stream"]) > 1


def test_openai_compatible_forced_tool_call(ai_sdk: dict[str, Any]) -> None:
    assert ai_sdk["tool"]["name"] == "get_weather" and isinstance(ai_sdk["tool"]["input"]["city"], str)
