"""Backend answers the translation can't read: each is a BadUpstreamResponse (502), never a crash (500) and
never a made-up ``end_turn``. Every case here used to raise something else or to pass as a finished message."""

from __future__ import annotations

from typing import Any

import pytest

from modelport.errors import BadUpstreamResponse, UpstreamUnreachable
from modelport.translate.anthropic_openai import MessagesStream, chat_completion_from_json, messages_response_from_chat
from tests.translate.anthropic_openai_helpers import check_grammar, parse_openai_sse, reassemble
from tests.translate.anthropic_openai_samples import TEXT


def _choice(**fields: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, **fields}]}


BROKEN_CHUNKS = [
    pytest.param([1, 2], id="not-an-object"),
    pytest.param("nope", id="a-string"),
    pytest.param({"choices": "nope"}, id="choices-a-string"),
    pytest.param({"choices": ["nope"]}, id="choice-a-string"),
    pytest.param(_choice(delta="nope"), id="delta-a-string"),
    pytest.param(_choice(delta={"tool_calls": "nope"}), id="tool-calls-a-string"),
    pytest.param(_choice(delta={"tool_calls": [5]}), id="tool-call-a-number"),
    pytest.param(_choice(delta={"tool_calls": [{"index": 0, "function": "f"}]}), id="function-a-string"),
    pytest.param(_choice(delta={"tool_calls": [{"index": 0, "id": 7, "function": {"name": "f"}}]}), id="tool-id-a-number"),
    pytest.param(_choice(delta={"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": 5}}]}),
                 id="arguments-a-number"),
    pytest.param(_choice(delta={}, finish_reason=["stop"]), id="finish-reason-a-list"),
    pytest.param({"id": 5, "choices": []}, id="id-a-number"),
    pytest.param({"choices": [], "usage": "nope"}, id="usage-a-string"),
    pytest.param({"choices": [], "usage": {"prompt_tokens": "many"}}, id="token-count-not-a-number"),
]


@pytest.mark.parametrize("chunk", BROKEN_CHUNKS)
def test_malformed_chunk_is_a_bad_upstream_response(chunk: Any) -> None:
    stream = MessagesStream(model="m")
    stream.feed(parse_openai_sse(TEXT)[1])
    with pytest.raises(BadUpstreamResponse, match="chunk"):
        stream.feed(chunk)
    assert stream.fail("it broke") == [("error", {"type": "error", "error": {"type": "api_error", "message": "it broke"}})]


@pytest.mark.parametrize("data", [b"<html><body>502 Bad Gateway</body></html>", b'{"id": "broken', b"nope"])
def test_event_data_that_is_not_json_is_a_bad_upstream_response(data: bytes) -> None:
    with pytest.raises(BadUpstreamResponse, match="not JSON"):
        MessagesStream(model="m").feed_data(data)


def test_end_before_finish_reason_or_done_is_an_error_not_end_turn() -> None:
    stream = MessagesStream(model="m")
    stream.feed(parse_openai_sse(TEXT)[1])
    with pytest.raises(BadUpstreamResponse, match="ended before"):
        stream.finish()
    assert not stream.done
    with pytest.raises(BadUpstreamResponse, match="ended before"):
        MessagesStream(model="m").finish()


def test_done_ends_the_stream_even_without_finish_reason() -> None:
    stream = MessagesStream(model="m", message_id="msg_fixed")
    events = stream.feed_data(parse_openai_sse_data(TEXT)[1]) + stream.feed_data(b"[DONE]")
    check_grammar(events)
    assert stream.done and reassemble(events)["content"] == [{"type": "text", "text": "Hello"}]
    assert events[-2][1]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert stream.feed_data(b"[DONE]") == [] and stream.finish() == []


def test_finish_reason_then_end_without_done_finishes() -> None:
    stream = MessagesStream(model="m")
    events: list[Any] = []
    for data in parse_openai_sse_data(TEXT)[:-1]:  # everything but the usage chunk
        events += stream.feed_data(data)
    events += stream.finish()
    check_grammar(events)
    assert reassemble(events)["stop_reason"] == "end_turn"


def test_error_chunk_is_raised_with_the_upstreams_message() -> None:
    stream = MessagesStream(model="m")
    with pytest.raises(UpstreamUnreachable, match="CUDA out of memory"):
        stream.feed({"error": {"message": "CUDA out of memory", "type": "InternalServerError", "code": 500}})


def parse_openai_sse_data(text: str) -> list[bytes]:
    """The `data:` payloads of SSE text, as bytes ([DONE] left out)."""
    return [line.removeprefix("data:").strip().encode() for line in text.splitlines()
            if line.startswith("data:") and "[DONE]" not in line]


BROKEN_COMPLETIONS = [
    pytest.param("nope", id="a-string"),
    pytest.param({"choices": "nope"}, id="choices-a-string"),
    pytest.param({"id": "chatcmpl-1", "object": "chat.completion"}, id="no-choices"),
    pytest.param({"choices": []}, id="empty-choices"),
    pytest.param({"choices": ["nope"]}, id="choice-a-string"),
    pytest.param({"choices": [{"index": 0, "finish_reason": "stop"}]}, id="no-message"),
    pytest.param({"choices": [{"message": "nope"}]}, id="message-a-string"),
    pytest.param({"choices": [{"message": {"content": ["parts"]}}]}, id="content-a-list"),
    pytest.param({"choices": [{"message": {"tool_calls": "nope"}}]}, id="tool-calls-a-string"),
    pytest.param({"choices": [{"message": {"tool_calls": [{"id": 3}]}}]}, id="tool-id-a-number"),
    pytest.param({"choices": [{"message": {}, "finish_reason": {}}]}, id="finish-reason-an-object"),
    pytest.param({"id": 5, "choices": [{"message": {}}]}, id="id-a-number"),
    pytest.param({"choices": [{"message": {}}], "usage": "nope"}, id="usage-a-string"),
]


@pytest.mark.parametrize("chat", BROKEN_COMPLETIONS)
def test_malformed_completion_is_a_bad_upstream_response(chat: Any) -> None:
    with pytest.raises(BadUpstreamResponse, match="chat completion"):
        messages_response_from_chat(chat, model="m")


@pytest.mark.parametrize("body", [b"<html>502</html>", b'{"id": "chatcmpl-', b""])
def test_completion_body_that_is_not_json_is_a_bad_upstream_response(body: bytes) -> None:
    with pytest.raises(BadUpstreamResponse, match="not JSON"):
        chat_completion_from_json(body)


def test_completion_body_with_an_error_says_so() -> None:
    with pytest.raises(BadUpstreamResponse, match="model crashed"):
        chat_completion_from_json(b'{"error": {"message": "model crashed"}}')


def test_well_formed_completion_passes_through() -> None:
    body = b'{"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}'
    message = messages_response_from_chat(chat_completion_from_json(body), model="m")
    assert message["content"] == [{"type": "text", "text": "hi"}] and message["stop_reason"] == "end_turn"
