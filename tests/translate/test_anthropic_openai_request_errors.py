"""chat_request_from_messages: malformed bodies → BadRequest / InvalidJSON with a clear message and param."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelport import errors
from tests.translate.anthropic_openai_helpers import messages_body as _body
from tests.translate.anthropic_openai_helpers import to_chat as _chat

BAD_CASES = [
    pytest.param(
        {"model": "m", "messages": [{"role": "user", "content": "x"}]}, "max_tokens", id="no-max-tokens"
    ),
    pytest.param(_body(max_tokens=0), "max_tokens", id="zero-max-tokens"),
    pytest.param(_body(max_tokens="100"), "max_tokens", id="string-max-tokens"),
    pytest.param(_body(messages={"role": "user"}), "messages", id="messages-not-list"),
    pytest.param(_body(messages=[]), "messages", id="messages-empty"),
    pytest.param(_body(messages=[{"role": "tool", "content": "x"}]), "messages.0.role", id="tool-role"),
    pytest.param(_body(messages=[{"role": "user", "content": 5}]), "messages.0.content", id="content-int"),
    pytest.param(
        _body(messages=[{"role": "user", "content": [{"type": "audio", "data": "x"}]}]),
        "messages.0.content.0.type",
        id="unknown-block",
    ),
    pytest.param(
        _body(messages=[{"role": "user", "content": [{"text": "no type"}]}]),
        "messages.0.content.0.type",
        id="block-without-type",
    ),
    pytest.param(
        _body(messages=[{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]),
        "messages.0.content.0.tool_use_id",
        id="tool-result-without-id",
    ),
    pytest.param(
        _body(
            messages=[
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": [{"type": "tool_use", "name": "f", "input": {}}]},
            ]
        ),
        "messages.1.content.0.id",
        id="tool-use-without-id",
    ),
    pytest.param(
        _body(
            messages=[
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "", "name": "f", "input": {}}]},
            ]
        ),
        "messages.1.content.0.id",
        id="tool-use-empty-id",
    ),
    pytest.param(
        _body(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "toolu_nowhere", "content": "x"}],
                }
            ]
        ),
        "messages.0.content.0.tool_use_id",
        id="tool-result-unmatched",
    ),
    pytest.param(
        _body(
            messages=[
                {"role": "user", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]}
            ]
        ),
        "messages.0.content.0",
        id="tool-use-in-user",
    ),
    pytest.param(
        _body(
            messages=[
                {"role": "user", "content": "a"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "t1", "name": "f", "input": {}},
                        {"type": "tool_use", "id": "t1", "name": "g", "input": {}},
                    ],
                },
            ]
        ),
        "messages.1.content.1.id",
        id="duplicate-tool-use-id",
    ),
    pytest.param(
        _body(
            messages=[
                {"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}]}
            ]
        ),
        "messages.0.content.0.source.type",
        id="image-file-source",
    ),
    pytest.param(
        _body(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "document",
                            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"},
                        }
                    ],
                }
            ]
        ),
        "messages.0.content.0.source",
        id="pdf",
    ),
    pytest.param(
        _body(tools=[{"type": "web_search_20250305", "name": "web_search"}]), "tools.0.type", id="server-tool"
    ),
    pytest.param(_body(tool_choice={"type": "sometimes"}), "tool_choice.type", id="bad-tool-choice"),
    pytest.param(_body(thinking={"type": "enabled"}), "thinking.budget_tokens", id="thinking-without-budget"),
    pytest.param(
        _body(system=[{"type": "image", "source": {"type": "url", "url": "u"}}]), "system", id="system-image"
    ),
    pytest.param(_body(stop_sequences="###"), "stop_sequences", id="stop-sequences-string"),
]


@pytest.mark.parametrize(("body", "param"), BAD_CASES)
def test_malformed_requests(body: dict[str, Any], param: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        _chat(body)
    assert caught.value.param is not None and caught.value.param.startswith(param), caught.value.message
    assert caught.value.message.startswith(caught.value.param)
    assert caught.value.status == 400


@pytest.mark.parametrize("raw", [b"{not json", b"", b'{"model": "m"'])
def test_invalid_json(raw: bytes) -> None:
    with pytest.raises(errors.InvalidJSON):
        _chat(raw)


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"42"])
def test_body_not_an_object(raw: bytes) -> None:
    with pytest.raises(errors.BadRequest, match="JSON object"):
        _chat(raw)


def test_error_renders_anthropic_shaped() -> None:
    with pytest.raises(errors.BadRequest) as caught:
        _chat({"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert json.loads(caught.value.anthropic_body()) == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
    }
