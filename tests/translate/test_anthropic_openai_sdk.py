"""The official anthropic SDK accumulates our events (served over HTTP) into the right final message."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anthropic
import pytest

from modelport.translate.anthropic_openai import (
    MessagesStream,
    chat_request_from_messages,
    encode_event,
    messages_response_from_chat,
)
from tests.translate.anthropic_openai_helpers import parse_openai_sse
from tests.translate.anthropic_openai_samples import (
    INTERLEAVED_TOOLS,
    REASONING_THEN_TEXT,
    STOP_SEQUENCE,
    TEXT_THEN_TWO_TOOLS,
)

Serve = Callable[[bytes, str], None]


@pytest.fixture
def server() -> Iterator[tuple[anthropic.Anthropic, Serve, list[dict[str, Any]]]]:
    """A local /v1/messages endpoint answering with whatever bytes the test sets; records request bodies."""
    reply: dict[str, Any] = {"body": b"", "type": "application/json"}
    requests: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            requests.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(200)
            self.send_header("content-type", reply["type"])
            self.send_header("content-length", str(len(reply["body"])))
            self.end_headers()
            self.wfile.write(reply["body"])

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def serve(body: bytes, content_type: str) -> None:
        reply.update(body=body, type=content_type)

    client = anthropic.Anthropic(base_url=f"http://127.0.0.1:{httpd.server_port}", api_key="x", max_retries=0)
    try:
        yield client, serve, requests
    finally:
        client.close()
        httpd.shutdown()
        httpd.server_close()


def _sse(openai_sse: str, *, stop_sequences: tuple[str, ...] = (), ping: bool = True) -> bytes:
    stream = MessagesStream(model="local-coder", stop_sequences=stop_sequences)
    events = stream.start() + ([stream.ping()] if ping else [])
    for chunk in parse_openai_sse(openai_sse):
        events += stream.feed(chunk)
    events += stream.finish()
    return b"".join(encode_event(name, data) for name, data in events)


def _stream_final(client: anthropic.Anthropic, **kwargs: Any) -> Any:
    with client.messages.stream(
        model="local-coder", max_tokens=512, messages=[{"role": "user", "content": "hi"}], **kwargs
    ) as stream:
        return stream.get_final_message()


def test_sdk_stream_tools(server: tuple[anthropic.Anthropic, Serve, list[dict[str, Any]]]) -> None:
    client, serve, _ = server
    serve(_sse(TEXT_THEN_TWO_TOOLS), "text/event-stream")
    message = _stream_final(client)
    assert [block.type for block in message.content] == ["text", "tool_use", "tool_use"]
    assert message.content[0].text == "Checking both."
    assert (message.content[1].name, message.content[1].input) == ("get_weather", {"city": "Paris"})
    assert (message.content[2].name, message.content[2].input) == ("get_time", {"tz": "CET"})
    assert message.content[1].id == "toolu_chatcmpl-tool-a1"
    assert message.stop_reason == "tool_use" and message.stop_sequence is None
    assert (message.usage.input_tokens, message.usage.output_tokens) == (300, 40)
    assert message.model == "local-coder" and message.id.startswith("msg_")


def test_sdk_stream_interleaved_tools(
    server: tuple[anthropic.Anthropic, Serve, list[dict[str, Any]]],
) -> None:
    client, serve, _ = server
    serve(_sse(INTERLEAVED_TOOLS), "text/event-stream")
    message = _stream_final(client)
    assert [(b.name, b.input) for b in message.content] == [
        ("read", {"path": "/a"}),
        ("grep", {"pattern": "x"}),
    ]
    assert [b.id for b in message.content] == ["toolu_call_A", "toolu_call_B"]


def test_sdk_stream_thinking(server: tuple[anthropic.Anthropic, Serve, list[dict[str, Any]]]) -> None:
    client, serve, _ = server
    serve(_sse(REASONING_THEN_TEXT), "text/event-stream")
    message = _stream_final(client, thinking={"type": "enabled", "budget_tokens": 2048})
    assert message.content[0].type == "thinking"
    assert (message.content[0].thinking, message.content[0].signature) == ("The user greets me.", "")
    assert message.content[1].type == "text" and message.content[1].text == "Hi!"
    assert message.usage.cache_read_input_tokens == 4 and message.usage.input_tokens == 5


def test_sdk_stream_stop_sequence_and_text_events(
    server: tuple[anthropic.Anthropic, Serve, list[dict[str, Any]]],
) -> None:
    client, serve, _ = server
    serve(_sse(STOP_SEQUENCE, stop_sequences=("###",)), "text/event-stream")
    with client.messages.stream(
        model="local-coder",
        max_tokens=64,
        stop_sequences=["###"],
        messages=[{"role": "user", "content": "count"}],
    ) as stream:
        assert "".join(stream.text_stream) == "1, 2, 3"
        message = stream.get_final_message()
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "###")


def test_sdk_stream_error_event(server: tuple[anthropic.Anthropic, Serve, list[dict[str, Any]]]) -> None:
    client, serve, _ = server
    stream = MessagesStream(model="m")
    events = stream.start() + stream.feed(parse_openai_sse(STOP_SEQUENCE)[0])
    events += stream.fail("backend overloaded", error_type="overloaded_error")
    serve(b"".join(encode_event(n, d) for n, d in events), "text/event-stream")
    with pytest.raises(anthropic.APIStatusError, match="backend overloaded"):
        _stream_final(client)


def test_sdk_non_streaming_round_trip(
    server: tuple[anthropic.Anthropic, Serve, list[dict[str, Any]]],
) -> None:
    client, serve, requests = server
    chat = {
        "id": "chatcmpl-42",
        "object": "chat.completion",
        "model": "qwen3-8b",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "Sure.",
                    "reasoning_content": "Easy.",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }
    serve(json.dumps(messages_response_from_chat(chat, model="local-coder")).encode(), "application/json")
    tools = [{"name": "add", "description": "Add", "input_schema": {"type": "object", "properties": {}}}]
    message = client.messages.create(
        model="local-coder", max_tokens=100, tools=tools, messages=[{"role": "user", "content": "1+2"}]
    )
    assert isinstance(message, anthropic.types.Message)
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use"]
    assert message.content[2].input == {"a": 1, "b": 2} and message.content[2].id == "toolu_call_1"
    assert message.stop_reason == "tool_use" and message.usage.output_tokens == 5
    # what the SDK sent translates cleanly, and the tool id round-trips to the backend's own id
    follow_up = {
        **requests[0],
        "messages": [
            *requests[0]["messages"],
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in message.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_call_1", "content": "3"}],
            },
        ],
    }
    translated = chat_request_from_messages(follow_up, upstream_model="qwen3-8b")
    assert translated["messages"][1]["tool_calls"][0]["id"] == "call_1"
    assert translated["messages"][2] == {"role": "tool", "tool_call_id": "call_1", "content": "3"}
