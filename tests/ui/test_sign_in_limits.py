"""Sign-in behind a reverse proxy and under guessing: the session cookie is `Secure` when the page came over
TLS (said by a `--trusted-proxy` only), and failed sign-ins are limited per client address (429, Retry-After,
OpenAI's error shape), in a table of bounded size. No browser needed: these are the HTTP answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from modelport.errors import RateLimited
from modelport.ui.throttle import SignInThrottle, client_bucket
from tests.harness import LiveGateway

PROXY = "127.0.0.1"  # the gateway trusts this peer; 127.0.0.2 (also loopback) is an ordinary client


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    with LiveGateway(tmp_path_factory.mktemp("proxied"), "--trusted-proxy", PROXY) as live:
        yield live


def client(source: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=10)


def sign_in(gateway: LiveGateway, key: str, source: str = "127.0.0.2", **headers: str) -> httpx.Response:
    with client(source) as http:
        return http.post(gateway.url + "/ui/session", json={"key": key},
                         headers={k.replace("_", "-"): v for k, v in headers.items()})


def test_the_cookie_is_secure_when_a_trusted_proxy_says_https(gateway: LiveGateway) -> None:
    plain = sign_in(gateway, gateway.admin_key, PROXY)
    assert plain.status_code == 200 and "Secure" not in plain.headers["set-cookie"]
    proxied = sign_in(gateway, gateway.admin_key, PROXY, x_forwarded_proto="https", x_forwarded_for="198.51.100.4")
    assert proxied.status_code == 200
    assert proxied.headers["set-cookie"].endswith("; HttpOnly; SameSite=Strict; Secure")
    # anyone else saying so is not believed: the page did come over plain HTTP
    forged = sign_in(gateway, gateway.admin_key, "127.0.0.2", x_forwarded_proto="https")
    assert forged.status_code == 200 and "Secure" not in forged.headers["set-cookie"]
    # signing out clears the cookie with the same flags
    cookie = proxied.headers["set-cookie"].split(";")[0]
    csrf = proxied.json()["csrf"]
    with client(PROXY) as http:
        out = http.delete(gateway.url + "/ui/session", headers={"cookie": cookie, "x-csrf-token": csrf,
                                                                 "x-forwarded-proto": "https"})
    assert out.status_code == 200 and out.headers["set-cookie"].endswith("Max-Age=0; HttpOnly; SameSite=Strict; Secure")


def test_failed_sign_ins_are_limited_per_client_address(gateway: LiveGateway) -> None:
    wrong = "mp-000000000000-" + "x" * 43
    for _ in range(10):
        assert sign_in(gateway, wrong, x_forwarded_for="192.0.2.1").status_code == 401
    limited = sign_in(gateway, wrong)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 6
    error = limited.json()["error"]
    assert error["type"] == "rate_limit_error" and error["code"] == "sign_in_rate_limited", error
    # while limited, even the right key is not tried; X-Forwarded-For from an untrusted peer changes nothing
    right = sign_in(gateway, gateway.admin_key, x_forwarded_for="192.0.2.99")
    assert right.status_code == 429 and "set-cookie" not in right.headers
    # other clients are not held back: the proxy's own address, and a client it forwards
    assert sign_in(gateway, gateway.admin_key, PROXY).status_code == 200
    assert sign_in(gateway, wrong, PROXY, x_forwarded_for="203.0.113.7").status_code == 401
    # and the API keeps answering the limited address: only sign-in is limited
    with client("127.0.0.2") as http:
        models = http.get(gateway.v1 + "/models", headers={"authorization": f"Bearer {gateway.admin_key}"})
    assert models.status_code == 200


def test_the_throttle_frees_up_with_time_and_keeps_a_bounded_table() -> None:
    now = [1000.0]
    throttle = SignInThrottle(burst=3, refill_seconds=10, max_clients=100, clock=lambda: now[0])
    for _ in range(3):
        throttle.check("192.0.2.1")
        throttle.failed("192.0.2.1")
    with pytest.raises(RateLimited) as raised:
        throttle.check("192.0.2.1")
    assert raised.value.retry_after == 10
    now[0] += 10  # one failure leaked out: one more try
    throttle.check("192.0.2.1")
    for number in range(5000):  # a spray from many addresses never grows the table past its bound
        throttle.failed(f"10.{number // 65536}.{number // 256 % 256}.{number % 256}")
        assert len(throttle) <= 100
    now[0] += 31  # all refilled: the next failure finds room by dropping refilled buckets
    throttle.failed("198.51.100.1")
    assert len(throttle) == 1


def test_ipv6_addresses_count_by_their_64_block() -> None:
    assert client_bucket("2001:db8:1:2::1") == client_bucket("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_bucket("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_bucket("192.0.2.1") == "192.0.2.1"


def test_a_bad_trusted_proxy_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="trusted-proxy"):
        LiveGateway(tmp_path, "--trusted-proxy", "not-an-address").start(timeout=30)
