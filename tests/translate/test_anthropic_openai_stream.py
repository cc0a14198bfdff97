"""MessagesStream: OpenAI/vLLM chunk streams (inline SSE text) → Anthropic events, table-driven."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelport.errors import UpstreamUnreachable
from modelport.translate.anthropic_openai import MessagesStream, encode_event
from tests.translate.anthropic_openai_helpers import (
    check_grammar,
    parse_anthropic_sse,
    parse_openai_sse,
    reassemble,
    run_stream,
)
from tests.translate.anthropic_openai_samples import (
    INTERLEAVED_TOOLS,
    REASONING_FIELD_NO_USAGE,
    REASONING_THEN_TEXT,
    STOP_SEQUENCE,
    STOP_TOKEN_ID,
    TEXT,
    TEXT_THEN_TWO_TOOLS,
)


def _tool(name: str, json_text: str) -> dict[str, Any]:
    return {"type": "tool_use", "name": name, "json": json_text}


def _shape(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Content without ids/skeleton noise, for comparison."""
    shaped = []
    for block in message["content"]:
        if block["type"] == "tool_use":
            shaped.append(_tool(block["name"], block["json"]))
        elif block["type"] == "thinking":
            shaped.append(
                {"type": "thinking", "thinking": block["thinking"], "signature": block["signature"]}
            )
        else:
            shaped.append({"type": "text", "text": block["text"]})
    return shaped


CASES = [
    pytest.param(
        TEXT,
        (),
        [{"type": "text", "text": "Hello, world"}],
        ("end_turn", None),
        {"input_tokens": 21, "output_tokens": 3},
        id="text",
    ),
    pytest.param(
        REASONING_THEN_TEXT,
        (),
        [
            {"type": "thinking", "thinking": "The user greets me.", "signature": ""},
            {"type": "text", "text": "Hi!"},
        ],
        ("end_turn", None),
        {"input_tokens": 5, "output_tokens": 11, "cache_read_input_tokens": 4},
        id="reasoning-then-text",
    ),
    pytest.param(
        REASONING_FIELD_NO_USAGE,
        (),
        [{"type": "thinking", "thinking": "hmm", "signature": ""}, {"type": "text", "text": "ok"}],
        ("max_tokens", None),
        {"input_tokens": 0, "output_tokens": 2},  # no usage from the backend: the two deltas it sent
        id="reasoning-field-no-usage",
    ),
    pytest.param(
        TEXT_THEN_TWO_TOOLS,
        (),
        [
            {"type": "text", "text": "Checking both."},
            _tool("get_weather", '{"city": "Paris"}'),
            _tool("get_time", '{"tz": "CET"}'),
        ],
        ("tool_use", None),
        {"input_tokens": 300, "output_tokens": 40},
        id="text-then-two-tools",
    ),
    pytest.param(
        INTERLEAVED_TOOLS,
        (),
        [_tool("read", '{"path": "/a"}'), _tool("grep", '{"pattern": "x"}')],
        ("tool_use", None),
        {"input_tokens": 50, "output_tokens": 20},
        id="interleaved-tools",
    ),
    pytest.param(
        STOP_SEQUENCE,
        ("###", "END"),
        [{"type": "text", "text": "1, 2, 3"}],
        ("stop_sequence", "###"),
        {"input_tokens": 5, "output_tokens": 6},
        id="stop-sequence",
    ),
    pytest.param(
        STOP_TOKEN_ID,
        ("###",),
        [{"type": "text", "text": "done"}],
        ("end_turn", None),
        {"input_tokens": 0, "output_tokens": 1},  # no usage from the backend: its one content delta
        id="stop-token-id",
    ),
]


@pytest.mark.parametrize(("sse", "stop_sequences", "content", "stop", "usage"), CASES)
def test_stream_translation(
    sse: str,
    stop_sequences: tuple[str, ...],
    content: list[Any],
    stop: tuple[str, Any],
    usage: dict[str, int],
) -> None:
    events = run_stream(sse, stop_sequences=stop_sequences)
    check_grammar(events)
    message = reassemble(events)
    assert _shape(message) == content
    assert (message["stop_reason"], message["stop_sequence"]) == stop
    assert {key: message["usage"][key] for key in usage} == usage
    for block in message["content"]:
        if block["type"] == "tool_use":
            assert block["id"].startswith("toolu_") and block["input"] == {}
            json.loads(block["json"])


def test_text_event_sequence_and_ids() -> None:
    events = run_stream(TEXT, model="claude-sonnet-4-5")
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0][1]["message"]
    assert start["id"].startswith("msg_") and start["model"] == "claude-sonnet-4-5"
    assert start["content"] == [] and start["stop_reason"] is None
    assert events[1][1]["content_block"] == {"type": "text", "text": ""}


def test_thinking_block_is_signed_before_text() -> None:
    names = [(name, data.get("delta", {}).get("type")) for name, data in run_stream(REASONING_THEN_TEXT)]
    stop = names.index(("content_block_stop", None))
    assert names[stop - 1] == ("content_block_delta", "signature_delta")
    assert names[stop + 1] == ("content_block_start", None)


def test_sequential_tool_calls_stream_live_until_second_call() -> None:
    events = run_stream(TEXT_THEN_TWO_TOOLS)
    starts = [data["content_block"] for name, data in events if name == "content_block_start"]
    assert starts[1] == {
        "type": "tool_use",
        "id": "toolu_chatcmpl-tool-a1",
        "name": "get_weather",
        "input": {},
    }
    assert starts[2]["id"] == "toolu_chatcmpl-tool-b2"
    first_tool_deltas = [
        d["delta"]["partial_json"] for n, d in events if n == "content_block_delta" and d["index"] == 1
    ]
    assert first_tool_deltas == ['{"city": ', '"Paris"}']  # the open tool block streams fragment by fragment


def test_done_without_finish_reason_or_usage_still_closes() -> None:
    stream = MessagesStream(model="m", message_id="msg_fixed")
    events = stream.start() + stream.feed(parse_openai_sse(TEXT)[1]) + stream.feed_data(b"[DONE]")
    check_grammar(events)
    assert events[0][1]["message"]["id"] == "msg_fixed"
    assert events[-2][1]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert events[-2][1]["usage"] == {"output_tokens": 1}  # no usage: the one content delta it sent


def test_nothing_after_message_stop() -> None:
    stream = MessagesStream(model="m")
    stream.start()
    stream.feed_data(b"[DONE]")
    assert stream.done
    assert stream.feed(parse_openai_sse(TEXT)[1]) == [] and stream.finish() == [] and stream.start() == []
    assert stream.fail("late") == []


def test_feed_before_start_starts_with_id_from_chunk() -> None:
    stream = MessagesStream(model="m")
    events = stream.feed(parse_openai_sse(TEXT)[1])
    assert events[0][0] == "message_start" and events[0][1]["message"]["id"] == "msg_7f3a"
    assert stream.start() == []


def test_fail_mid_stream_and_error_chunk() -> None:
    stream = MessagesStream(model="m")
    stream.start()
    stream.feed(parse_openai_sse(TEXT)[1])
    assert stream.fail("upstream went away", error_type="overloaded_error") == [
        ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "upstream went away"}})
    ]
    assert stream.finish() == []
    other = MessagesStream(model="m")
    other.start()
    with pytest.raises(UpstreamUnreachable, match="CUDA out of memory"):  # the caller renders it: status or event
        other.feed({"error": {"message": "CUDA out of memory", "type": "InternalServerError", "code": 500}})
    assert other.fail("CUDA out of memory") == [
        ("error", {"type": "error", "error": {"type": "api_error", "message": "CUDA out of memory"}})
    ]


def test_unknown_fields_and_other_choices_ignored() -> None:
    stream = MessagesStream(model="m")
    events = stream.start()
    events += stream.feed(
        {
            "id": "x",
            "system_fingerprint": "fp",
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": "a", "audio": None, "refusal": None},
                    "logprobs": {"content": []},
                },
                {"index": 1, "delta": {"content": "other choice"}},
            ],
        }
    )
    events += stream.feed_data(b"[DONE]")
    assert reassemble(events)["content"] == [{"type": "text", "text": "a"}]


def test_tool_name_arriving_after_arguments() -> None:
    stream = MessagesStream(model="m")
    events = stream.start()
    events += stream.feed(
        {
            "choices": [
                {"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"q":'}}]}}
            ]
        }
    )
    events += stream.feed(
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "c1", "function": {"name": "search", "arguments": ' "x"}'}}
                        ]
                    },
                }
            ]
        }
    )
    events += stream.feed_data(b"[DONE]")
    check_grammar(events)
    assert _shape(reassemble(events)) == [_tool("search", '{"q": "x"}')]
    assert reassemble(events)["stop_reason"] == "tool_use"


def test_text_after_tool_call_is_deferred_not_lost() -> None:
    stream = MessagesStream(model="m")
    events = stream.start()
    events += stream.feed(
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{}"}}]
                    },
                }
            ]
        }
    )
    events += stream.feed({"choices": [{"index": 0, "delta": {"content": "and more"}}]})
    events += stream.feed({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    events += stream.finish()
    check_grammar(events)
    assert _shape(reassemble(events)) == [_tool("f", "{}"), {"type": "text", "text": "and more"}]


def test_encode_event_round_trip_and_ping() -> None:
    stream = MessagesStream(model="m")
    events = [*run_stream(TEXT), stream.ping()]
    wire = b"".join(encode_event(name, data) for name, data in events)
    assert wire.startswith(b"event: message_start\ndata: {")
    assert parse_anthropic_sse(wire) == events
    assert encode_event("ping", {"type": "ping"}) == b'event: ping\ndata: {"type":"ping"}\n\n'
