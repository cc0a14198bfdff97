"""A backend's context overflow, recognised in each wording and put in the words each client API acts on."""

from __future__ import annotations

import orjson
import pytest

from modelport.engines.base import ContextLengthExceeded
from modelport.translate.context_overflow import ContextOverflow, overflow_from_error, parse_overflow

VLLM_INPUT = ("This model's maximum context length is 4096 tokens. However, your request has 5120 input tokens. "
              "Please reduce the length of the input messages. None")
VLLM_MAX_TOKENS = ("'max_tokens' or 'max_completion_tokens' is too large: 32000. This model's maximum context length "
                   "is 8192 tokens and your request has 7600 input tokens (32000 > 8192 - 7600). None")
VLLM_OLD = ("This model's maximum context length is 2048 tokens. However, you requested 2100 tokens (1100 in the "
            "messages, 1000 in the completion). Please reduce the length of the messages or completion.")


def _error(message: str, code: object = 400) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": "BadRequestError", "param": None, "code": code}})


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (VLLM_INPUT, ContextOverflow(5120, 4096)),
        (VLLM_MAX_TOKENS, ContextOverflow(7600, 8192, 32000)),
        (VLLM_OLD, ContextOverflow(1100, 2048, 1000)),
        (str(ContextLengthExceeded(9000, 8192)), ContextOverflow(9000, 8192)),
    ],
)
def test_each_wording_gives_the_counts(message: str, expected: ContextOverflow) -> None:
    assert parse_overflow(message) == expected


def test_other_errors_are_not_overflows() -> None:
    assert parse_overflow("'messages' must be a non-empty list") is None
    assert overflow_from_error(400, _error("temperature must be between 0 and 2")) is None
    assert overflow_from_error(500, _error(VLLM_INPUT)) is None  # a server error stays one
    assert overflow_from_error(400, b"<html>bad request</html>") is None
    assert overflow_from_error(400, b"[1, 2]") is None
    assert overflow_from_error(400, _error(VLLM_INPUT)[:20]) is None


def test_an_instance_error_body_in_either_shape() -> None:
    assert overflow_from_error(400, _error(VLLM_INPUT)) == ContextOverflow(5120, 4096)
    assert overflow_from_error(400, orjson.dumps({"message": VLLM_INPUT})) == ContextOverflow(5120, 4096)


def test_anthropic_wording_is_what_claude_code_recognises() -> None:
    error = ContextOverflow(5120, 4096).anthropic_error()
    assert error.status == 400 and error.message == "prompt is too long: 5120 tokens > 4096 maximum"
    assert orjson.loads(error.anthropic_body()) == {
        "type": "error", "error": {"type": "invalid_request_error", "message": error.message}}
    # the prompt fits, the prompt plus max_tokens does not: Anthropic's own words for that case
    fits = ContextOverflow(7600, 8192, 32000).anthropic_error()
    assert fits.message.startswith("input length and `max_tokens` exceed context limit: 7600 + 32000 > 8192")


def test_openai_shape_carries_the_code() -> None:
    body = orjson.loads(ContextOverflow(5120, 4096).openai_error(param="input").openai_body())["error"]
    assert body["type"] == "invalid_request_error" and body["code"] == "context_length_exceeded"
    assert body["param"] == "input"
    assert parse_overflow(body["message"]) == ContextOverflow(5120, 4096)  # litellm reads these words too
