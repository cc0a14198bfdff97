"""CORS (off by default, an allow-list of origins) and the allowed-Host list (issue 11)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import LiveGateway
from tests.wire.raw import exchange, request_bytes

APP = "https://app.example.com"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    args = ["--cors-origin", APP, "--allowed-host", "127.0.0.1", "--allowed-host", "localhost:1"]
    with LiveGateway(tmp_path_factory.mktemp("origins"), *args) as live:
        yield live


def _preflight(url: str, origin: str) -> httpx.Response:
    return httpx.options(url + "/v1/chat/completions", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, x-stainless-os"})


def test_a_preflight_from_an_allowed_origin_needs_no_key(guarded: LiveGateway) -> None:
    answer = _preflight(guarded.url, APP)
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == APP
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert answer.headers["access-control-allow-headers"] == "authorization, content-type, x-stainless-os"
    assert answer.headers["vary"] == "origin"


def test_other_origins_get_no_cors_headers(guarded: LiveGateway) -> None:
    assert _preflight(guarded.url, "https://evil.example").status_code == 403
    answer = httpx.get(guarded.url + "/v1/models", headers={"Origin": "https://evil.example",
                                                             "Authorization": f"Bearer {guarded.admin_key}"})
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers


def test_answers_and_errors_to_an_allowed_origin_are_readable(guarded: LiveGateway) -> None:
    ok = httpx.get(guarded.url + "/v1/models", headers={"Origin": APP, "Authorization": f"Bearer {guarded.admin_key}"})
    assert ok.headers["access-control-allow-origin"] == APP
    denied = httpx.get(guarded.url + "/v1/models", headers={"Origin": APP})
    assert denied.status_code == 401
    assert denied.headers["access-control-allow-origin"] == APP


def test_cors_is_off_by_default(tmp_path: Path) -> None:
    with LiveGateway(tmp_path / "gw") as live:
        answer = _preflight(live.url, APP)
        assert answer.status_code in (401, 405)
        assert "access-control-allow-origin" not in answer.headers


def test_a_host_outside_the_list_is_a_400_but_health_probes_pass(guarded: LiveGateway) -> None:
    auth = {"Authorization": f"Bearer {guarded.admin_key}"}
    assert httpx.get(guarded.url + "/v1/models", headers=auth).status_code == 200  # Host: 127.0.0.1:PORT
    rebinding = exchange(guarded.port, request_bytes("GET", "/v1/models", auth).replace(
        b"Host: 127.0.0.1", b"Host: attacker.example"))
    assert rebinding.status == 400
    assert rebinding.json()["error"]["code"] == "host_not_allowed"
    with_port = request_bytes("GET", "/v1/models", auth).replace(b"Host: 127.0.0.1", b"Host: localhost:1")
    assert exchange(guarded.port, with_port).status == 200
    wrong_port = request_bytes("GET", "/v1/models", auth).replace(b"Host: 127.0.0.1", b"Host: localhost:2")
    assert exchange(guarded.port, wrong_port).status == 400
    probe = request_bytes("GET", "/healthz").replace(b"Host: 127.0.0.1", b"Host: 10.1.2.3:8080")
    assert exchange(guarded.port, probe).status == 200
