"""Chat completion chunks → Responses streaming events, step by step (`ResponsesStream`)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from modelport import errors
from modelport.protocols import openai_responses as rs
from modelport.translate.responses_openai import Event, ResponsesStream, new_turn


def state() -> ResponsesStream:
    return ResponsesStream(new_turn(rs.ResponsesRequest(model="m", input="x"), "served"))


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return orjson.dumps({"id": "chatcmpl-1", "choices": choices, **extra})


def run(stream: ResponsesStream, *datas: bytes) -> list[Event]:
    events: list[Event] = []
    for data in datas:
        events += stream.feed_data(data)
    return events


def kinds(events: list[Event]) -> list[str]:
    return [name for name, _ in events]


def test_text_stream_events_in_order_with_sequence_numbers() -> None:
    stream = state()
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "completion_tokens_details": {"reasoning_tokens": 0}}
    events = run(stream, chunk({"role": "assistant", "content": ""}), chunk({"content": "Hel"}),
                 chunk({"content": "lo"}), chunk({}, "stop"), chunk(None, usage=usage), b"[DONE]")
    assert kinds(events) == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.completed"]
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    assert all(data["type"] == name for name, data in events)
    created = events[0][1]["response"]
    assert created["status"] == "in_progress" and created["output"] == [] and created["model"] == "served"
    item_id = events[2][1]["item"]["id"]
    assert events[6][1] == {"type": "response.output_text.done", "sequence_number": 6, "item_id": item_id,
                            "output_index": 0, "content_index": 0, "text": "Hello", "logprobs": []}
    final = stream.final
    assert final is not None and final is events[-1][1]["response"]
    assert final["status"] == "completed" and final["id"] == created["id"]
    assert final["output"][0]["content"][0]["text"] == "Hello" and final["output"][0]["status"] == "completed"
    assert final["usage"]["input_tokens"] == 3 and final["usage"]["total_tokens"] == 5
    assert stream.done and stream.feed_data(chunk({"content": "more"})) == []


def test_reasoning_then_text_are_two_items() -> None:
    stream = state()
    events = run(stream, chunk({"reasoning_content": "think"}), chunk({"content": "answer"}), chunk({}, "stop"),
                 b"[DONE]")
    assert "response.reasoning_text.delta" in kinds(events) and "response.reasoning_text.done" in kinds(events)
    assert stream.final is not None
    assert [item["type"] for item in stream.final["output"]] == ["reasoning", "message"]
    assert stream.final["output"][0]["content"] == [{"type": "reasoning_text", "text": "think"}]


def test_tool_calls_stream_their_arguments_and_trailing_whitespace_is_dropped() -> None:
    stream = state()
    first = {"index": 0, "id": "call_a", "type": "function", "function": {"name": "f", "arguments": ""}}
    events = run(stream, chunk({"content": "\n"}), chunk({"tool_calls": [first]}),
                 chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{\"x\""}}]}),
                 chunk({"tool_calls": [{"index": 1, "id": "call_b", "function": {"arguments": "{}"}}]}),
                 chunk({"tool_calls": [{"index": 1, "function": {"name": "g"}}]}),
                 chunk({"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}),
                 chunk({"content": "\n"}, "tool_calls"), b"[DONE]")
    deltas = [(d["output_index"], d["delta"]) for name, d in events if name == "response.function_call_arguments.delta"]
    assert deltas == [(0, "{\"x\""), (1, "{}"), (0, ":1}")]
    done = [d for name, d in events if name == "response.function_call_arguments.done"]
    assert [(d["name"], d["arguments"]) for d in done] == [("f", "{\"x\":1}"), ("g", "{}")]
    assert stream.final is not None
    assert [(i["type"], i["call_id"]) for i in stream.final["output"]] == [("function_call", "call_a"),
                                                                          ("function_call", "call_b")]


def test_length_is_incomplete() -> None:
    stream = state()
    events = run(stream, chunk({"content": "cut"}), chunk({}, "length"), b"[DONE]")
    assert events[-1][0] == "response.incomplete"
    final = events[-1][1]["response"]
    assert final["status"] == "incomplete" and final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["output"][0]["status"] == "incomplete"


def test_a_stream_ending_after_finish_reason_without_done_completes() -> None:
    stream = state()
    run(stream, chunk({"content": "ok"}, "stop"))
    assert kinds(stream.finish())[-1] == "response.completed"


@pytest.mark.parametrize("data", [b'{"id": "broken', b'{"choices": "nope"}', b'[1, 2]'])
def test_garbage_raises(data: bytes) -> None:
    stream = state()
    run(stream, chunk({"content": "a"}))
    with pytest.raises(errors.BadUpstreamResponse):
        stream.feed_data(data)


def test_an_error_chunk_raises_unreachable() -> None:
    with pytest.raises(errors.UpstreamUnreachable, match="boom"):
        state().feed_data(orjson.dumps({"error": {"message": "boom"}}))


def test_an_unfinished_stream_raises_and_fail_ends_it() -> None:
    stream = state()
    run(stream, chunk({"content": "half"}))
    with pytest.raises(errors.BadUpstreamResponse):
        stream.finish()
    events = stream.fail("broke off")
    assert kinds(events) == ["error", "response.failed"]
    assert events[0][1] == {"type": "error", "sequence_number": 5, "code": "server_error", "message": "broke off",
                            "param": None}
    failed = events[1][1]["response"]
    assert failed["status"] == "failed" and failed["error"] == {"code": "server_error", "message": "broke off"}
    assert events[1][1]["sequence_number"] == 6 and stream.done and stream.fail("again") == []


def test_fail_before_anything_still_starts_the_response() -> None:
    assert kinds(state().fail("x", code="rate_limit_exceeded")) == [
        "response.created", "response.in_progress", "error", "response.failed"]


def test_too_many_tool_calls_is_a_bad_answer() -> None:
    stream = state()
    calls = [{"index": i, "id": f"c{i}", "function": {"name": "f"}} for i in range(1025)]
    with pytest.raises(errors.BadUpstreamResponse, match="tool calls"):
        stream.feed_data(chunk({"tool_calls": calls}))
