"""The auth matrix: every way a key can be wrong, on inference and admin routes."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.harness import LiveGateway

CHAT = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}


def chat(gateway: LiveGateway, headers: dict[str, str], model: str = "fake-model") -> httpx.Response:
    return httpx.post(gateway.v1 + "/chat/completions", json={**CHAT, "model": model}, headers=headers)


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def test_no_key_is_401_openai_shaped(gateway: LiveGateway) -> None:
    response = chat(gateway, {})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize("token", ["nonsense", "mp-aaaaaaaaaaaa-" + "x" * 43, "Basic abc"])
def test_bad_key_is_401(gateway: LiveGateway, token: str) -> None:
    assert chat(gateway, bearer(token)).status_code == 401


def test_tampered_secret_is_401(gateway: LiveGateway) -> None:
    key = gateway.create_key("tamper")
    assert chat(gateway, bearer(key[:-2] + ("AA" if not key.endswith("AA") else "BB"))).status_code == 401


def test_x_api_key_header_is_accepted(gateway: LiveGateway) -> None:
    assert chat(gateway, {"x-api-key": gateway.create_key("anthropic-style")}).status_code == 200


def test_revoked_key_stops_within_a_second(gateway: LiveGateway) -> None:
    key = gateway.create_key("to-revoke")
    assert chat(gateway, bearer(key)).status_code == 200
    key_id = key.split("-")[1]
    assert gateway.api("DELETE", f"/api/keys/{key_id}").status_code == 200
    time.sleep(1.1)
    assert chat(gateway, bearer(key)).status_code == 401


def test_revocation_through_the_cli_on_the_store_reaches_the_server(gateway: LiveGateway) -> None:
    key = gateway.create_key("cli-revoke")
    assert chat(gateway, bearer(key)).status_code == 200
    gateway.cli("keys", "revoke", key.split("-")[1])
    time.sleep(1.1)
    assert chat(gateway, bearer(key)).status_code == 401


def test_expired_key_is_401(gateway: LiveGateway) -> None:
    key = gateway.create_key("short", expires_in="1s")
    time.sleep(1.2)
    assert chat(gateway, bearer(key)).status_code == 401


def test_inference_key_cannot_administer(gateway: LiveGateway) -> None:
    key = gateway.create_key("inference-only")
    response = gateway.api("GET", "/api/keys", key=key)
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"


def test_admin_key_can_infer(gateway: LiveGateway) -> None:
    assert chat(gateway, bearer(gateway.admin_key)).status_code == 200


def test_allow_list_hides_other_models_like_unknown_ones(gateway: LiveGateway, fake) -> None:  # type: ignore[no-untyped-def]
    gateway.deploy("other-model", [fake.url], upstream_model="fake-model")
    key = gateway.create_key("narrow", models=["other-model"])
    assert chat(gateway, bearer(key), "other-model").status_code == 200
    hidden = chat(gateway, bearer(key), "fake-model")
    unknown = chat(gateway, bearer(key), "no-such-model")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["error"]["message"].replace("fake-model", "X") == unknown.json()["error"][
        "message"
    ].replace("no-such-model", "X")
    listed = httpx.get(gateway.v1 + "/models", headers=bearer(key)).json()["data"]
    assert [m["id"] for m in listed] == ["other-model"]
    assert httpx.get(gateway.v1 + "/models/fake-model", headers=bearer(key)).status_code == 404


def test_public_routes_need_no_key(gateway: LiveGateway) -> None:
    assert httpx.get(gateway.url + "/healthz").status_code == 200
    assert httpx.get(gateway.url + "/readyz").status_code == 200


@pytest.mark.parametrize("path", ["/v1/models", "/api/keys", "/api/openapi.json", "/nowhere"])
def test_everything_else_needs_a_key(gateway: LiveGateway, path: str) -> None:
    assert httpx.get(gateway.url + path).status_code in (401, 404)
    if path != "/nowhere":
        assert httpx.get(gateway.url + path).status_code == 401


def test_admin_api_has_an_openapi_document(gateway: LiveGateway) -> None:
    document = gateway.api("GET", "/api/openapi.json").json()
    assert "/api/keys" in document["paths"] and "/api/deployments" in document["paths"]


def test_keys_are_stored_hashed(gateway: LiveGateway) -> None:
    key = gateway.create_key("hashed")
    secret = key.split("-", 2)[2]
    database = (gateway.data_dir / "modelport.db").read_bytes()
    wal = gateway.data_dir / "modelport.db-wal"
    assert secret.encode() not in database
    assert not wal.exists() or secret.encode() not in wal.read_bytes()
    listing = gateway.api("GET", "/api/keys").text
    assert secret not in listing
