"""Reading an instance's `/tokenize` answer for `/v1/messages/count_tokens`: garbage is a 502, never a 500."""

from __future__ import annotations

import pytest

from modelport.api.messages_tokens import token_count
from modelport.errors import BadUpstreamResponse


def test_the_count_is_read() -> None:
    assert token_count(b'{"count": 12, "tokens": [1, 2]}') == 12


@pytest.mark.parametrize("answer", [b"[1, 2]", b'"12"', b"<html>", b"{}", b'{"count": "12"}', b'{"count": -1}',
                                    b'{"count": true}', b'{"count": 1.5}'])
def test_anything_else_is_a_bad_upstream_response(answer: bytes) -> None:
    with pytest.raises(BadUpstreamResponse):
        token_count(answer)
