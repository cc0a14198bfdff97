"""The admin API and the store under hostile or broken input: non-finite and unbounded values are 400s,
an unreadable stored row is skipped (never fatal), errors keep our shape, the OpenAPI document tells the
truth, and the data dir, store and logs are private to their owner."""

from __future__ import annotations

import re
import stat
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from modelport.config import sqlite_url
from modelport.store import Store
from modelport.testing import FakeUpstream
from tests.harness import LiveGateway

COMMAND = f"{sys.executable} -m modelport.testing --port {{port}} --model {{name}} --api-key {{secret}}"


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error  # type: ignore[no-any-return]


def raw(gateway: LiveGateway, method: str, path: str, body: bytes) -> httpx.Response:
    headers = {"authorization": f"Bearer {gateway.admin_key}", "content-type": "application/json"}
    return httpx.request(method, gateway.url + path, content=body, headers=headers, timeout=30)


def chat(gateway: LiveGateway, model: str) -> int:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    return gateway.api("POST", "/v1/chat/completions", body).status_code


# -- D3: non-finite timeouts


@pytest.mark.parametrize("value", ["1e400", '"NaN"', '"Infinity"', "-1e400", "0", "1e9"])
def test_a_non_finite_or_absurd_timeout_is_a_400_and_stores_nothing(gateway: LiveGateway, fake: FakeUpstream,
                                                                     value: str) -> None:
    body = f'{{"name": "inf", "urls": ["{fake.url}"], "timeouts": {{"first_byte": {value}}}}}'.encode()
    error = assert_error(raw(gateway, "PUT", "/api/deployments/inf", body), 400)
    assert error["param"] == "timeouts.first_byte" and error["type"] == "invalid_request_error"
    assert_error(raw(gateway, "POST", "/api/deployments", body), 400)
    assert gateway.api("GET", "/api/deployments").status_code == 200
    assert_error(gateway.api("GET", "/api/deployments/inf"), 404)


@pytest.mark.parametrize("remote", [False, True], ids=["data-dir", "server"])
@pytest.mark.parametrize("seconds", ["inf", "nan", "1e400"])
def test_the_cli_refuses_a_non_finite_timeout(gateway: LiveGateway, fake: FakeUpstream, remote: bool,
                                             seconds: str) -> None:
    result = gateway.cli("deploy", "inf-cli", "--url", fake.url, "--timeout", f"first_byte={seconds}",
                         remote=remote, check=False)
    assert result.returncode == 1 and result.stderr.startswith("error:") and "first_byte" in result.stderr
    assert "inf-cli" not in gateway.cli("deployments").stdout


# -- D13: bounds


@pytest.mark.parametrize(("fields", "param"), [
    ({"engine": "command", "command": ["server", "{port}"], "replicas": 65}, "replicas"),
    ({"engine": "command", "command": ["server", "{port}"], "replicas": 10**12}, "replicas"),
    ({"urls": [f"http://10.0.0.{i}/v1" for i in range(65)]}, "urls"),
    ({"aliases": [f"a{i}" for i in range(65)]}, "aliases"),
    ({"upstream_key": "sk\r\nX-Injected: 1"}, "upstream_key"),
    ({"health_path": "/models\r\nX-Injected: 1"}, "health_path"),
    ({"engine": "command", "command": ["server", "{port}"], "engine_args": {f"k{i}": "v" for i in range(129)}},
     "engine_args"),
], ids=["replicas-65", "replicas-huge", "urls", "aliases", "upstream-key", "health-path", "engine-args"])
def test_unbounded_or_control_character_fields_are_400s(gateway: LiveGateway, fake: FakeUpstream,
                                                        fields: dict[str, Any], param: str) -> None:
    body = {"name": "bounded", "urls": [fake.url], **fields}
    if "engine" in fields:
        body["urls"] = []
    error = assert_error(gateway.api("POST", "/api/deployments", body), 400)
    assert error["param"] is not None and re.split(r"[.\[]", error["param"])[0] == param, error
    assert_error(gateway.api("GET", "/api/deployments/bounded"), 404)


def test_a_long_name_is_a_400(gateway: LiveGateway, fake: FakeUpstream) -> None:
    assert assert_error(gateway.api("POST", "/api/deployments", {"name": "n" * 300, "urls": [fake.url]}),
                        400)["param"] == "name"
    assert assert_error(gateway.api("POST", "/api/keys", {"name": "k" * 300}), 400)["param"] == "name"
    assert assert_error(gateway.api("POST", "/api/keys", {"name": "a\nb"}), 400)["param"] == "name"


# -- D14: the error shape, Allow, and a truthful OpenAPI document


def test_unknown_admin_paths_and_methods_answer_in_our_shape(gateway: LiveGateway) -> None:
    assert assert_error(gateway.api("GET", "/api/nothing-here"), 404)["type"] == "not_found_error"
    response = gateway.api("POST", "/api/deployments/some-name")
    assert assert_error(response, 405)["code"] == "method_not_allowed"
    assert set(response.headers["allow"].split(", ")) == {"GET", "PUT", "PATCH", "DELETE"}
    response = gateway.api("PATCH", "/api/keys")
    assert_error(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}
    assert_error(raw(gateway, "POST", "/api/keys", b"{not json"), 400)


def test_the_openapi_document_lists_the_statuses_sent(gateway: LiveGateway) -> None:
    document = gateway.api("GET", "/api/openapi.json").json()
    operations = {(method.upper(), path): op for path, item in document["paths"].items() for method, op in item.items()}
    assert not [key for key, op in operations.items() if "422" in op["responses"]]
    assert "HTTPValidationError" not in document.get("components", {}).get("schemas", {})
    schemas = document["components"]["schemas"]
    assert schemas["ErrorResponse"]["properties"]["error"] == {"$ref": "#/components/schemas/ErrorDetail"}
    assert set(schemas["ErrorDetail"]["properties"]) == {"message", "type", "param", "code"}
    for key in [("POST", "/api/keys"), ("POST", "/api/deployments"), ("PUT", "/api/deployments/{name}")]:
        body = operations[key]["responses"]["400"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/ErrorResponse"}, key
    for key in [("GET", "/api/deployments/{name}"), ("DELETE", "/api/deployments/{name}"),
                ("DELETE", "/api/keys/{key_id}"), ("GET", "/api/logs/{name}")]:
        assert "404" in operations[key]["responses"], key
    for key in [("POST", "/api/deployments"), ("PUT", "/api/deployments/{name}")]:
        assert "409" in operations[key]["responses"], key
    for op in operations.values():
        assert {"401", "403"} <= set(op["responses"])


# -- D3 (2): an unreadable row is reported and skipped, at every read, reload and start


def corrupt(store_url: str, name: str) -> None:
    """Overwrite a stored spec in SQL as `1e400` once did (infinity stored as null), and bump the revision."""
    store = Store.open(store_url)
    try:
        with store.engine.begin() as connection:
            spec = connection.execute(sa.text("SELECT spec FROM deployments WHERE name = :n"), {"n": name}).scalar_one()
            broken = spec.replace('"first_byte":600.0', '"first_byte":null')
            assert broken != spec
            connection.execute(sa.text("UPDATE deployments SET spec = :s WHERE name = :n"), {"s": broken, "n": name})
            connection.execute(sa.text("UPDATE routing_state SET revision = revision + 1"))
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_an_unreadable_row_is_skipped_never_fatal(tmp_path: Path, request: pytest.FixtureRequest,
                                                  fake: FakeUpstream, backend: str) -> None:
    database_url = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    gateway = LiveGateway(tmp_path / "gw", database_url=database_url).start()
    store_url = database_url or sqlite_url(gateway.data_dir)
    try:
        gateway.deploy("good", [fake.url], upstream_model="fake-model")
        gateway.deploy("bad", [fake.url], upstream_model="fake-model")
        corrupt(store_url, "bad")
        gateway.deploy("later", [fake.url], upstream_model="fake-model")  # routed only if reloads still work
        assert chat(gateway, "good") == 200 and chat(gateway, "later") == 200
        listing = gateway.api("GET", "/api/deployments")
        assert listing.status_code == 200, listing.text
        assert [d["name"] for d in listing.json()["data"]] == ["good", "later"]
        assert [u["name"] for u in listing.json()["unreadable"]] == ["bad"]
        error = assert_error(gateway.api("GET", "/api/deployments/bad"), 500)
        assert "bad" in error["message"] and error["code"] == "unreadable_deployment"
        gateway.stop()
        gateway.start()  # a restart with the bad row in the store must come up
        assert chat(gateway, "good") == 200 and chat(gateway, "later") == 200
        assert "bad" in gateway.log_path.read_text()
        for remote in (False, True):
            shown = gateway.cli("deployments", remote=remote)
            assert "good" in shown.stdout and "bad" in shown.stderr and "unreadable" in shown.stderr
        gateway.cli("deploy", "bad", "--url", fake.url, "--upstream-model", "fake-model", "--replace")
        gateway.wait_ready("bad")
        assert chat(gateway, "bad") == 200
        assert "unreadable" not in gateway.cli("deployments").stderr
    finally:
        gateway.stop()


# -- File permissions


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_dir_store_and_logs_are_private(tmp_path: Path) -> None:
    data = tmp_path / "gw"
    data.mkdir()
    data.chmod(0o755)
    gateway = LiveGateway(data).start()
    try:
        assert mode(data) == 0o700
        assert "0755" in gateway.log_path.read_text()  # it says it tightened the data dir
        store_files = [data / name for name in ("modelport.db", "modelport.db-wal", "modelport.db-shm")]
        assert store_files[0].exists()
        assert {f.name: mode(f) for f in store_files if f.exists()} == {f.name: 0o600 for f in store_files
                                                                        if f.exists()}
        gateway.cli("deploy", "managed", "--command", COMMAND)
        gateway.wait_ready("managed", timeout=60)
        logs = data / "logs"
        assert mode(logs) == 0o700 and [mode(f) for f in logs.iterdir()] == [0o600]
    finally:
        gateway.stop()
    # What an older version left behind, looser, is tightened at the next start.
    data.chmod(0o755)
    logs.chmod(0o755)
    for path in [*store_files, *logs.iterdir()]:
        if path.exists():
            path.chmod(0o644)
    gateway.start()
    try:
        gateway.wait_ready("managed", timeout=60)
        assert mode(data) == 0o700 and mode(store_files[0]) == 0o600
        assert all(mode(f) == 0o600 for f in store_files if f.exists())
        assert mode(logs) == 0o700 and [mode(f) for f in logs.iterdir()] == [0o600]
    finally:
        gateway.stop()
