"""Hostile bodies found by the fuzzer and by probing (issue 11, D6): numbers past a double or past 64 bits,
nesting past every decoder's limit, odd prompts at the fake upstream. None may be a 500."""

from __future__ import annotations

import httpx

from modelport.testing import FakeUpstream
from tests.gateway.test_errors import assert_error_shape, gateway_failed, post_raw
from tests.harness import LiveGateway


def test_count_tokens_with_a_number_past_a_double_is_400(gateway: LiveGateway) -> None:
    """count_tokens decodes the whole body: 1e999 is a 400, not an unhandled decode error."""
    body = (b'{"model": "fake-model", "messages": [{"role": "user", "content": "hi"}], "extra": 1e999}')
    response = post_raw(gateway, "/v1/messages/count_tokens", body)
    assert not gateway_failed(response), response.text
    assert_error_shape("/v1/messages/count_tokens", response, 400)


def test_messages_with_a_big_integer_inside_a_json_object_field_is_not_a_500(gateway: LiveGateway) -> None:
    """The translated request is re-encoded: ints past 64 bits in free-form object fields (a tool's
    `input_schema`, tool_use `input`) must survive it (orjson refuses them)."""
    body = (b'{"model": "fake-model", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], '
            b'"tools": [{"name": "t", "input_schema": {"type": "object", "maximum": ' + str(2**70).encode() + b"}}]}")
    response = post_raw(gateway, "/v1/messages", body)
    assert not gateway_failed(response), response.text


def test_proxy_with_deeply_nested_json_is_400(gateway: LiveGateway) -> None:
    """The proxy's lenient look for `model` in a body must not raise on nesting past the decoder's limit."""
    body = b'{"model": "fake-model", "x": ' + b"[" * 100_000
    response = post_raw(gateway, "/model/proxy/v1/chat/completions", body)
    assert not gateway_failed(response), response.text


def test_fake_upstream_refuses_odd_prompts_and_formats_with_400(fake: FakeUpstream) -> None:
    """The fake upstream answers odd prompts and formats with a 400, as OpenAI does (found by tests/fuzz)."""
    for path, body in (("/completions", {"model": "fake-model", "prompt": [1.5]}),
                       ("/completions", {"model": "fake-model", "prompt": [-(2**63) - 1]}),
                       ("/audio/speech", {"model": "fake-model", "input": "hi", "response_format": []})):
        response = httpx.post(fake.url + path, json=body, timeout=10)
        assert response.status_code == 400, (path, body, response.text)
