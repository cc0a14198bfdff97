"""Stop strings and UTF-8 reassembly in the token loop's helpers."""

from __future__ import annotations

import math

import numpy as np

from modelport.engines.textgen import StopBuffer, token_logprob


def _feed(stops: list[str], pieces: list[str]) -> tuple[str, bool]:
    buf, out = StopBuffer(stops), ""
    for piece in pieces:
        text, stopped = buf.push(piece)
        out += text
        if stopped:
            return out, True
    return out + buf.flush(), False


def test_no_stops_passes_through() -> None:
    assert _feed([], ["a", "b"]) == ("ab", False)


def test_stop_split_across_tokens_is_cut() -> None:
    assert _feed(["\n\n"], ["Hello", "\n", "\nWorld"]) == ("Hello", True)
    assert _feed(["END"], ["abc E", "N", "D tail"]) == ("abc ", True)


def test_partial_stop_prefix_is_released_when_it_diverges() -> None:
    buf = StopBuffer(["STOP"])
    assert buf.push("go ST") == ("go ", False)
    assert buf.push("ART") == ("START", False)


def test_held_text_flushes_at_the_end() -> None:
    assert _feed(["STOP"], ["the ST"]) == ("the ST", False)


def test_utf8_split_across_tokens() -> None:
    buf = StopBuffer([])
    euro = "€".encode()
    assert buf.push_bytes(euro[:1]) == ("", False)
    assert buf.push_bytes(euro[1:]) == ("€", False)


def test_token_logprob_is_a_log_softmax() -> None:
    logits = np.array([1.0, 2.0, 3.0])
    lp = token_logprob(logits, 2, 2, lambda t: f"t{t}".encode())
    expected = 3.0 - math.log(math.exp(1) + math.exp(2) + math.exp(3))
    assert abs(lp.logprob - expected) < 1e-9
    assert [t for t, _, _ in lp.top] == ["t2", "t1"]
    assert lp.token == "t2" and lp.token_bytes == b"t2"


def test_the_matched_stop_is_reported() -> None:
    buf = StopBuffer(["@@", "zz", " the end", " is ", "<END>", "###"])
    assert buf.push("Paris is") == ("Paris", False)
    assert buf.push(" the end") == ("", True)  # " is " begins before " the end" does
    assert buf.matched == " is "
    assert StopBuffer(["x"]).matched is None
