"""Request smuggling through `/model/proxy` (issue 11, D1): percent-encoded CR LF in the path must never
become a real line break on the instance's connection, in any of the three ways to name the deployment."""

from __future__ import annotations

import json

import pytest

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway
from tests.wire.conftest import PROXIED
from tests.wire.raw import exchange, request_bytes

INJECTION = "echo%2Fa%20HTTP/1.1%0d%0aX-Injected:%20yes%0d%0aX-Pad:%20"
SMUGGLED = ("echo%2Fa%20HTTP/1.1%0d%0aHost:%20x%0d%0aContent-Length:%200%0d%0a%0d%0a"
            "GET%20/v1/echo/smuggled%20HTTP/1.1%0d%0aX-Pad:%20")


def _forms(key: str, tail: str) -> list[bytes]:
    """The same upstream tail addressed by path, by the X-GPUStack-Model header and by the body's model."""
    auth = {"Authorization": f"Bearer {key}"}
    body = json.dumps({"model": PROXIED}).encode()
    return [
        request_bytes("GET", f"/model/proxy/{PROXIED}/v1/{tail}", auth),
        request_bytes("GET", f"/model/proxy/v1/{tail}", {**auth, "X-GPUStack-Model": PROXIED}),
        request_bytes("POST", f"/model/proxy/v1/{tail}", {**auth, "Content-Type": "application/json"}, body),
    ]


def _seen_injected(fake: FakeUpstream) -> list[str]:
    return [r.path for r in fake.requests if "x-injected" in r.headers or "smuggled" in r.path]


@pytest.mark.parametrize("form", [0, 1, 2], ids=["path", "header", "body"])
def test_an_encoded_line_break_stays_encoded_on_the_way_upstream(
        limited: LiveGateway, key: str, fake: FakeUpstream, form: int) -> None:
    """The instance gets the escapes as sent: to it they are characters of a path it doesn't serve."""
    for tail in (INJECTION, SMUGGLED):
        answer = exchange(limited.port, _forms(key, tail)[form])
        assert answer.status == 404  # the fake's own answer for a path it has no route for
    assert _seen_injected(fake) == []  # no header and no second request was ever made of the escapes


def test_the_next_client_gets_its_own_answer_after_a_smuggling_attempt(limited: LiveGateway, key: str,
                                                                       fake: FakeUpstream) -> None:
    for round_ in range(4):
        exchange(limited.port, _forms(key, SMUGGLED)[0])
        mine = exchange(limited.port, _forms(key, f"echo/mine-{round_}")[0])
        assert mine.status == 200
        assert mine.json()["path"] == f"/v1/echo/mine-{round_}"
    assert _seen_injected(fake) == []


def test_escapes_reach_the_instance_as_the_client_wrote_them(limited: LiveGateway, key: str,
                                                             fake: FakeUpstream) -> None:
    answer = exchange(limited.port, _forms(key, "echo/a%2Fb%20c?q=x%20y")[0])
    assert answer.status == 200, answer.body
    recorded = next(r for r in reversed(fake.requests) if r.path.startswith("/v1/echo/a"))
    assert recorded.path in ("/v1/echo/a/b c", "/v1/echo/a%2Fb c")  # the instance decodes it, not us
    assert answer.json()["query"] == "q=x y"


@pytest.mark.parametrize("target", ["/model/proxy/proxied/v1/echo/caf\xe9", "/model/proxy/proxied/v1/echo/a?b=\x7f"])
def test_eight_bit_and_control_bytes_in_the_target_are_refused(limited: LiveGateway, key: str, target: str) -> None:
    answer = exchange(limited.port, request_bytes("GET", target, {"Authorization": f"Bearer {key}"}))
    assert answer.status == 400
