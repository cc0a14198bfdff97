"""Stop sequences found in the text, for backends that don't report which one matched (no `stop_reason`)."""

from __future__ import annotations

import json
from typing import Any

from modelport.translate.anthropic_openai import MessagesStream, messages_response_from_chat
from modelport.translate.anthropic_openai.stops import StopScanner, cut_at_stop
from tests.translate.anthropic_openai_helpers import check_grammar


def _chunk(content: str | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {"id": "chatcmpl-t", "choices": [{"index": 0, "delta": delta, "finish_reason": finish, **extra}]}


def _stream(pieces: list[str], stops: tuple[str, ...], finish: str = "stop") -> list[tuple[str, dict[str, Any]]]:
    state = MessagesStream(model="m", stop_sequences=stops)
    events = state.start()
    for piece in pieces:
        events += state.feed(_chunk(piece))
    events += state.feed(_chunk(finish=finish))
    events += state.feed({"id": "chatcmpl-t", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 9}})
    return events + state.finish()


def _text(events: list[tuple[str, dict[str, Any]]]) -> str:
    return "".join(d["delta"].get("text", "") for n, d in events if n == "content_block_delta")


def _stop(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    return next(d["delta"] for n, d in events if n == "message_delta")


def test_scanner_holds_back_what_may_begin_a_sequence() -> None:
    scanner = StopScanner(["\n\nHuman:", "END"])
    assert scanner.push("Hello\n") == "Hello"
    assert scanner.push("\nHu") == ""  # "\n\nHu" could be "\n\nHuman:"
    assert scanner.push("gs") == "\n\nHugs"  # it was not
    assert scanner.push(" E") == " "
    assert scanner.push("N") == ""
    assert scanner.push("D and more") == "" and scanner.matched == "END"
    assert scanner.push("anything after") == ""


def test_scanner_without_sequences_passes_text_through() -> None:
    scanner = StopScanner([])
    assert scanner.push("a\n\n") == "a\n\n" and scanner.flush() == ""


def test_earliest_sequence_wins_and_the_text_stops_before_it() -> None:
    assert cut_at_stop("one STOP two END", ["END", "STOP"]) == ("one ", "STOP")
    assert cut_at_stop("nothing here", ["END"]) == ("nothing here", None)


def test_stream_split_sequence_is_cut_and_reported() -> None:
    events = _stream(["1, 2, 3 #", "## 4, 5"], ("###",), finish="length")
    check_grammar(events)
    assert _text(events) == "1, 2, 3 "
    assert _stop(events) == {"stop_reason": "stop_sequence", "stop_sequence": "###"}


def test_a_stream_the_translator_ends_counts_the_pieces_delivered_as_output_tokens() -> None:
    # The stop sequence is found in the text before the backend's usage chunk: the stream ends there, and
    # its usage counts the content deltas received (one token each from llama.cpp and vLLM), not 0
    state = MessagesStream(model="m", stop_sequences=("###",))
    events = state.start()
    for piece in ("1,", " 2,", " 3", " ###", " 4"):
        events += state.feed(_chunk(piece))
    assert state.done and _text(events) == "1, 2, 3 "
    assert next(d["usage"] for n, d in events if n == "message_delta")["output_tokens"] == 4


def test_stream_text_ending_with_the_sequence_is_reported() -> None:
    events = _stream(["The answer", " is 4.", "\nUser:"], ("\nUser:",))
    assert _text(events) == "The answer is 4."
    assert _stop(events)["stop_sequence"] == "\nUser:"


def test_stream_held_text_goes_out_when_no_sequence_followed() -> None:
    events = _stream(["ends with #", "#"], ("###",))
    check_grammar(events)
    assert _text(events) == "ends with ##"
    assert _stop(events) == {"stop_reason": "end_turn", "stop_sequence": None}


def test_reported_stop_reason_still_wins() -> None:
    state = MessagesStream(model="m", stop_sequences=("###", "END"))
    events = state.start() + state.feed(_chunk("done")) + state.feed(_chunk(finish="stop", stop_reason="END"))
    events += state.finish()
    assert _text(events) == "done" and _stop(events)["stop_sequence"] == "END"


def _completion(content: str, finish: str = "stop", **extra: Any) -> dict[str, Any]:
    message = {"role": "assistant", "content": content}
    return {"id": "chatcmpl-n", "choices": [{"index": 0, "message": message, "finish_reason": finish, **extra}],
            "usage": {"prompt_tokens": 4, "completion_tokens": 7}}


def test_whole_answer_is_cut_at_the_first_sequence() -> None:
    message = messages_response_from_chat(_completion("Paris. Human: next", "length"), model="m",
                                          stop_sequences=["Human:"])
    assert message["content"] == [{"type": "text", "text": "Paris. "}]
    assert (message["stop_reason"], message["stop_sequence"]) == ("stop_sequence", "Human:")


def test_whole_answer_without_a_sequence_is_untouched() -> None:
    message = messages_response_from_chat(_completion("Paris."), model="m", stop_sequences=["Human:"])
    assert message["content"][0]["text"] == "Paris." and message["stop_reason"] == "end_turn"
    assert json.dumps(message)  # plain JSON


def test_only_bounded_sequences_are_scanned_for() -> None:
    huge = "x" * 10_000
    scanner = StopScanner([huge, "END"])
    assert scanner.push("x" * 300) == "x" * 300  # the huge one is not held back for
    assert scanner.push("END") == "" and scanner.matched == "END"
