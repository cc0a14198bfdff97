"""Units read from answers as they pass: pieces split anywhere, usage where each API puts it."""

from __future__ import annotations

import orjson

from modelport.usage.access_log import json_line, text_line
from modelport.usage.parse import JsonUsage, SseUsage, has_usage_object, request_units
from modelport.usage.record import UsageRecord


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def sse(*events: object) -> bytes:
    return b"".join(b"data: " + orjson.dumps(event) + b"\n\n" for event in events) + b"data: [DONE]\n\n"


def test_the_final_usage_chunk_of_an_openai_stream_wins_however_it_is_split() -> None:
    stream = sse({"choices": [{"delta": {"content": "hi"}}], "usage": None},
                 {"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}})
    for size in (1, 7, 64, len(stream)):
        parser = SseUsage()
        for piece in pieces(stream, size):
            parser.feed(piece)
        units = parser.finish()
        assert (units.input_tokens, units.output_tokens) == (11, 5)


def test_anthropic_streams_state_input_first_and_output_last() -> None:
    stream = (b"event: message_start\ndata: " + orjson.dumps(
        {"type": "message_start", "message": {"usage": {"input_tokens": 9, "output_tokens": 1}}}) +
        b"\n\nevent: message_delta\ndata: " + orjson.dumps({"type": "message_delta", "usage": {"output_tokens": 4}}))
    parser = SseUsage()
    parser.feed(stream)  # the last line has no newline yet: finish() reads it
    units = parser.finish()
    assert (units.input_tokens, units.output_tokens) == (9, 4)


def test_a_stream_without_usage_bills_nothing() -> None:
    parser = SseUsage()
    parser.feed(sse({"choices": [{"delta": {"content": "usage"}}], "usage": None}))
    assert parser.finish().output_tokens == 0
    assert not has_usage_object(b'{"usage": null}') and has_usage_object(b'{"usage": {"x": 1}}')


def test_a_large_json_answer_is_read_from_its_tail() -> None:
    rows = [{"embedding": [0.125] * 256, "index": i} for i in range(300)]
    body = orjson.dumps({"data": rows, "usage": {"prompt_tokens": 1234, "total_tokens": 1234}})
    assert len(body) > 256 * 1024
    parser = JsonUsage()
    for piece in pieces(body, 4096):
        parser.feed(piece)
    assert parser.finish().input_tokens == 1234


def test_images_are_counted_across_pieces_and_transcriptions_give_seconds() -> None:
    body = orjson.dumps({"created": 1, "data": [{"b64_json": "QUJD" * 100_000}, {"b64_json": "REVG"}]})
    parser = JsonUsage(count_images=True)
    for piece in pieces(body, 5):
        parser.feed(piece)
    assert parser.finish().images == 2
    urls = JsonUsage(count_images=True)
    for piece in pieces(b'{"data": [{"url": "http://h/1.png"}, {"url": "http://h/2.png"}]}', 1):
        urls.feed(piece)
    assert urls.finish().images == 2
    verbose = JsonUsage()
    verbose.feed(b'{"task": "transcribe", "duration": 2.5, "text": "hi"}')
    assert verbose.finish().audio_seconds == 2.5
    billed = JsonUsage()
    billed.feed(b'{"text": "hi", "usage": {"type": "duration", "seconds": 3}}')
    assert billed.finish().audio_seconds == 3.0


def test_request_side_units() -> None:
    assert request_units("/audio/speech", b'{"model": "m", "input": "Hello!"}').characters == 6
    assert request_units("/rerank", b'{"query": "q", "documents": ["a", {"text": "b"}, "c"]}').documents == 3
    assert request_units("/rerank", b"not json").documents == 0


def test_log_lines_hold_ids_never_text() -> None:
    record = UsageRecord(endpoint="/v1/chat/completions", method="POST", key_id="k1", deployment="chat",
                         instance="chat/0", status=200, bytes_out=42, complete=True)
    record.ended = record.t0 + 0.25
    line = orjson.loads(json_line(record))
    assert line["key"] == "k1" and line["duration_ms"] == 250.0 and line["outcome"] == "completed"
    assert line["ttft_ms"] is None and set(line) == {"time", "key", "deployment", "endpoint", "method", "status",
                                                     "bytes", "duration_ms", "ttft_ms", "instance", "outcome"}
    assert " 200 POST /v1/chat/completions key=k1 deployment=chat instance=chat/0 bytes=42 " in text_line(record)
