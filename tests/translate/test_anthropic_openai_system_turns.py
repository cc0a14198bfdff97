"""`system` turns inside `messages`, as Claude Code sends them (beta mid-conversation-system): a system
message in the chat request where they stand, after the results of pending tool calls (issue 14)."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from modelport.errors import BadRequest
from modelport.translate.anthropic_openai import chat_request_from_messages
from tests.harness import LiveGateway, last_request


def roles(body: dict[str, Any]) -> list[tuple[str, str]]:
    chat = chat_request_from_messages(body, upstream_model="m")
    return [(m["role"], m.get("content") or "") for m in chat["messages"]]


def test_a_system_turn_stays_where_it_stands() -> None:
    body = {"model": "m", "max_tokens": 5, "system": "be brief", "messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
        {"role": "system", "content": "the user is in a hurry"}, {"role": "user", "content": "again"}]}
    assert roles(body) == [("system", "be brief"), ("user", "hi"), ("assistant", "hello"),
                           ("system", "the user is in a hurry"), ("user", "again")]


def test_a_system_turn_after_tool_calls_waits_for_their_results() -> None:
    body = {"model": "m", "max_tokens": 5, "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "w", "input": {}}]},
        {"role": "system", "content": [{"type": "text", "text": "reminder"}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}]}]}
    chat = chat_request_from_messages(body, upstream_model="m")
    assert [m["role"] for m in chat["messages"]] == ["user", "assistant", "tool", "system"]
    assert chat["messages"][-1]["content"] == "reminder"


def test_only_text_goes_in_a_system_turn() -> None:
    body = {"model": "m", "max_tokens": 5, "messages": [
        {"role": "system", "content": [{"type": "tool_use", "id": "t1", "name": "w", "input": {}}]},
        {"role": "user", "content": "hi"}]}
    with pytest.raises(BadRequest, match=r"messages\.0\.content\.0"):
        chat_request_from_messages(body, upstream_model="m")


def test_the_sdk_gets_an_answer_with_a_system_turn_inside(gateway: LiveGateway, fake: Any) -> None:
    claude = anthropic.Anthropic(base_url=gateway.url, api_key=gateway.admin_key, max_retries=0)
    message = claude.messages.create(
        model="fake-model", max_tokens=8, extra_headers={"anthropic-beta": "mid-conversation-system-2026-04-07"},
        messages=[{"role": "user", "content": "one two"}, {"role": "assistant", "content": "three"},
                  {"role": "system", "content": "keep going"}, {"role": "user", "content": "four"}])  # type: ignore[misc,list-item]
    assert message.type == "message" and message.stop_reason in ("end_turn", "max_tokens")
    sent = last_request(fake, "/v1/chat/completions").json()
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "system", "user"]
