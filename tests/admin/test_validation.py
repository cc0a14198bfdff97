"""What `validate_spec` and `AdminService.create_key` refuse: non-finite or huge numbers, unbounded lists,
overlong strings and control characters, each as a 400 naming the field (the API and the CLI share them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.admin.service import AdminService, validate_spec
from modelport.errors import BadRequest
from modelport.records import DeploymentSpec, KeyScope, Timeouts
from modelport.store import Store

URL = "http://127.0.0.1:9000/v1"


def remote(**changes: object) -> DeploymentSpec:
    fields: dict[str, object] = {"name": "chat", "urls": (URL,)}
    fields.update(changes)
    return DeploymentSpec(**fields)  # type: ignore[arg-type]


def managed(**changes: object) -> DeploymentSpec:
    fields: dict[str, object] = {"name": "chat", "engine": "command", "command": ("server", "--port", "{port}")}
    fields.update(changes)
    return DeploymentSpec(**fields)  # type: ignore[arg-type]


BAD_SPECS = {
    "inf-first-byte": (remote(timeouts=Timeouts(first_byte=float("inf"))), "timeouts.first_byte"),
    "nan-idle": (remote(timeouts=Timeouts(idle=float("nan"))), "timeouts.idle"),
    "negative-connect": (remote(timeouts=Timeouts(connect=-1)), "timeouts.connect"),
    "a-year-total": (remote(timeouts=Timeouts(total=365 * 86400.0)), "timeouts.total"),
    "replicas-65": (managed(replicas=65), "replicas"),
    "replicas-0": (managed(replicas=0), "replicas"),
    "65-urls": (remote(urls=tuple(f"http://10.0.0.{i}:8000/v1" for i in range(65))), "urls"),
    "long-url": (remote(urls=("http://h/" + "a" * 5000,)), "urls"),
    "newline-in-url": (remote(urls=("http://h/v1\r\nX-Evil: 1",)), "urls"),
    "newline-in-upstream-key": (remote(upstream_key="sk\r\nX-Evil: 1"), "upstream_key"),
    "space-in-upstream-key": (remote(upstream_key="sk one"), "upstream_key"),
    "long-upstream-key": (remote(upstream_key="k" * 5000), "upstream_key"),
    "tab-in-health-path": (remote(health_path="/models\t"), "health_path"),
    "long-upstream-model": (remote(upstream_model="m" * 1000), "upstream_model"),
    "nul-in-model": (managed(model="/models/a\x00b"), "model"),
    "long-name": (remote(name="n" * 200), "name"),
    "control-in-name": (remote(name="chat\x7f"), "name"),
    "too-many-aliases": (remote(aliases=tuple(f"a{i}" for i in range(65))), "aliases"),
    "too-many-engine-args": (managed(engine_args={f"k{i}": "v" for i in range(129)}), "engine_args"),
    "newline-in-engine-arg": (managed(engine_args={"threads": "2\n--evil"}), "engine_args"),
    "long-engine-arg": (managed(engine_args={"k": "v" * 5000}), "engine_args"),
    "long-command": (managed(command=("server", *["--x"] * 300)), "command"),
    "nul-in-command": (managed(command=("server", "a\x00b")), "command"),
}


@pytest.mark.parametrize(("spec", "param"), BAD_SPECS.values(), ids=BAD_SPECS.keys())
def test_a_bad_spec_is_a_400_naming_its_field(spec: DeploymentSpec, param: str) -> None:
    with pytest.raises(BadRequest) as raised:
        validate_spec(spec)
    assert raised.value.param == param, raised.value.message


def test_the_largest_sane_values_pass() -> None:
    week = 7 * 86400.0
    validate_spec(managed(replicas=64, timeouts=Timeouts(connect=week, first_byte=week, idle=week, total=week),
                          engine_args={f"k{i}": "v" * 1000 for i in range(128)},
                          aliases=tuple(f"a{i}" for i in range(64))))
    validate_spec(remote(urls=tuple(f"http://10.0.0.{i}:8000/v1" for i in range(64)), upstream_key="sk-" + "x" * 1000,
                         timeouts=Timeouts(connect=0.001)))


@pytest.fixture
def service(tmp_path: Path) -> Iterator[AdminService]:
    store = Store.open(f"sqlite:///{tmp_path}/modelport.db")
    try:
        yield AdminService(store)
    finally:
        store.close()


BAD_KEYS = {
    "long-name": ({"name": "n" * 201}, "name"),
    "newline-in-name": ({"name": "app\nadmin"}, "name"),
    "too-many-models": ({"name": "app", "models": [f"m{i}" for i in range(1025)]}, "models"),
    "control-in-model": ({"name": "app", "models": ["chat\x1b[2J"]}, "models"),
    "long-model": ({"name": "app", "models": ["m" * 200]}, "models"),
    "huge-expiry": ({"name": "app", "expires_in": "99999999999999999999d"}, "expires_in"),
}


@pytest.mark.parametrize(("fields", "param"), BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_a_bad_key_is_a_400_naming_its_field(service: AdminService, fields: dict[str, object], param: str) -> None:
    with pytest.raises(BadRequest) as raised:
        service.create_key(scope=KeyScope.INFERENCE, **fields)  # type: ignore[arg-type]
    assert raised.value.param == param, raised.value.message
    assert service.list_keys() == []
