"""Test helpers: parse OpenAI SSE text, run a MessagesStream, check Anthropic event grammar, reassemble."""

from __future__ import annotations

import json
from typing import Any

from modelport.translate.anthropic_openai import Event, MessagesStream, chat_request_from_messages


def parse_openai_sse(text: str) -> list[dict[str, Any]]:
    """Chunks from OpenAI-style SSE text: ``data: {json}`` lines; blank lines, comments and [DONE] skipped."""
    chunks = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line.startswith("data:"):
            continue
        payload = line.removeprefix("data:").strip()
        if payload and payload != "[DONE]":
            chunks.append(json.loads(payload))
    return chunks


def parse_anthropic_sse(data: bytes) -> list[Event]:
    """Events from Anthropic SSE bytes (``event:``/``data:`` frames)."""
    events = []
    for frame in data.decode().split("\n\n"):
        if not frame.strip():
            continue
        lines = dict(line.split(": ", 1) for line in frame.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def run_stream(sse_text: str, **kwargs: Any) -> list[Event]:
    """start + feed every chunk + finish."""
    stream = MessagesStream(model=kwargs.pop("model", "claude-test"), **kwargs)
    events = stream.start()
    for chunk in parse_openai_sse(sse_text):
        events += stream.feed(chunk)
    return events + stream.finish()


def check_grammar(events: list[Event]) -> None:
    """Assert Anthropic's event order: one block open at a time, indices in order, matching delta types."""
    names = [name for name, _ in events]
    assert names[0] == "message_start"
    assert names[-2:] == ["message_delta", "message_stop"]
    delta_types = {
        "text": {"text_delta"},
        "thinking": {"thinking_delta", "signature_delta"},
        "tool_use": {"input_json_delta"},
    }
    open_block: tuple[int, str] | None = None
    next_index = 0
    last_delta: str | None = None
    for name, data in events[1:-2]:
        assert data["type"] == name
        if name == "content_block_start":
            assert open_block is None and data["index"] == next_index
            open_block = (data["index"], data["content_block"]["type"])
            next_index += 1
        elif name == "content_block_delta":
            assert open_block is not None and data["index"] == open_block[0]
            assert data["delta"]["type"] in delta_types[open_block[1]]
            last_delta = data["delta"]["type"]
        elif name == "content_block_stop":
            assert open_block is not None and data["index"] == open_block[0]
            if open_block[1] == "thinking":
                assert last_delta == "signature_delta"
            open_block = None
        else:
            assert name == "ping", name
    assert open_block is None


def reassemble(events: list[Event]) -> dict[str, Any]:
    """The final message the events describe (tool input kept as the raw JSON text under ``json``)."""
    message = dict(events[0][1]["message"])
    message["content"] = []
    for name, data in events:
        if name == "content_block_start":
            block = dict(data["content_block"])
            if block["type"] == "tool_use":
                block["json"] = ""
            message["content"].append(block)
        elif name == "content_block_delta":
            block, delta = message["content"][data["index"]], data["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            else:
                block["json"] += delta["partial_json"]
        elif name == "message_delta":
            message.update(data["delta"])
            message["usage"] = {**message["usage"], **data["usage"]}
    return message


def messages_body(**fields: Any) -> dict[str, Any]:
    """A minimal valid Messages body, with ``fields`` set on top."""
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    body.update(fields)
    return body


def to_chat(body: dict[str, Any] | bytes, **kwargs: Any) -> dict[str, Any]:
    """The chat request for ``body`` with upstream model ``qwen3-8b``."""
    return chat_request_from_messages(body, upstream_model="qwen3-8b", **kwargs)
