"""The deployments page in a real browser: replace a deployment, scale its replicas, add and remove aliases,
with the admin API's validation errors next to the field; each result checked through the admin API and
`modelport deployments`. Also `PATCH /api/deployments/NAME`, which the page uses (the rest is kept)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from modelport.testing import FakeUpstream, RecordedRequest
from tests.harness import LiveGateway
from tests.ui.conftest import Tab

FAKE_COMMAND = [sys.executable, "-m", "modelport.testing", "--port", "{port}", "--model", "{name}",
                "--api-key", "{secret}"]


@pytest.fixture
def remote(ui_gateway: LiveGateway, fake: FakeUpstream) -> Iterator[str]:
    """A deployment of the fake upstream with an upstream key, removed after the test."""
    name = "ui-remote"
    answer = ui_gateway.api("POST", "/api/deployments", {"name": name, "urls": [fake.url], "upstream_key": "sk-kept",
                                                         "upstream_model": "fake-model"})
    assert answer.status_code == 201, answer.text
    yield name
    ui_gateway.api("DELETE", f"/api/deployments/{name}")


def listed(gateway: LiveGateway, name: str) -> dict[str, Any]:
    """The deployment as `modelport deployments --json` shows it."""
    rows = orjson.loads(gateway.cli("deployments", "--json").stdout)
    rows = rows["data"] if isinstance(rows, dict) else rows
    return next(row for row in rows if row["name"] == name)  # type: ignore[no-any-return]


def error_next_to(tab: Tab, label: str, within: Any = None) -> str:
    """The error shown for the control labelled `label` (in `within`, a locator, when given)."""
    control = (within or tab.page).get_by_label(label, exact=True)
    slot = tab.page.locator(f"#{control.get_attribute('id')}-error")
    slot.wait_for()
    return slot.inner_text()


def unexpected(errors: list[str]) -> list[str]:
    """Console errors other than Chromium's line for each refused call (the 4xx the test asked for)."""
    return [e for e in errors if not e.startswith("Failed to load resource: the server responded with a status of 4")]


def chat(gateway: LiveGateway, model: str) -> httpx.Response:
    return httpx.post(gateway.v1 + "/chat/completions", timeout=30,
                      headers={"authorization": f"Bearer {gateway.admin_key}"},
                      json={"model": model, "messages": [{"role": "user", "content": "hi"}]})


def renamed_chat(fake: FakeUpstream, since: int, model: str) -> RecordedRequest | None:
    """The first chat request the fake got after its first `since` asking for `model`, or None. Not merely the
    last request: the gateway's health probes of the fake arrive in between."""
    return next((sent for sent in fake.requests[since:] if sent.path.endswith("/chat/completions")
                 and orjson.loads(sent.body or b"{}").get("model") == model), None)


def test_patch_changes_the_given_fields_and_keeps_the_upstream_key(ui_gateway: LiveGateway, fake: FakeUpstream,
                                                                   remote: str) -> None:
    before = len(fake.requests)
    changed = ui_gateway.api("PATCH", f"/api/deployments/{remote}", {"upstream_model": "fake-model-2"})
    assert changed.status_code == 200, changed.text
    view = changed.json()
    assert view["upstream_model"] == "fake-model-2" and view["urls"] == [fake.url] and view["upstream_key"] == "***"
    deadline = time.monotonic() + 30  # within the reload interval; 5 s was too little under CI's load
    while (sent := renamed_chat(fake, before, "fake-model-2")) is None:  # routed anew (the fake then answers 404)
        assert time.monotonic() < deadline, "the change did not reach the router"
        chat(ui_gateway, remote)
        time.sleep(0.1)
    assert sent.headers["authorization"] == "Bearer sk-kept"  # the key was kept
    for body, status, param in (({"name": "elsewhere"}, 400, "name"), ({"replicas": 0}, 400, "replicas"),
                                ({"aliases": ["smollm2-135m-instruct"]}, 409, "aliases"),
                                ({"urls": ["ftp://nowhere"]}, 400, "urls")):
        refused = ui_gateway.api("PATCH", f"/api/deployments/{remote}", body)
        assert refused.status_code == status and refused.json()["error"]["param"] == param, refused.text
    assert ui_gateway.api("PATCH", "/api/deployments/no-such-thing", {"replicas": 2}).status_code == 404
    assert ui_gateway.api("GET", f"/api/deployments/{remote}").json()["upstream_model"] == "fake-model-2"


def test_replace_a_deployment_from_the_ui(tab: Tab, ui_gateway: LiveGateway, fake: FakeUpstream, remote: str) -> None:
    tab.sign_in(ui_gateway.admin_key)
    tab.go("deployments")
    tab.page.get_by_role("button", name=f"Replace {remote}").click()
    form = tab.page.locator("form", has=tab.page.get_by_role("heading", name=f"Replace {remote}"))
    assert form.get_by_label("Base URL").input_value() == fake.url
    assert form.get_by_label("Name (what clients put in model)").get_attribute("readonly") is not None
    form.get_by_label("Base URL").fill("ftp://nowhere")
    form.get_by_role("button", name="Replace").click()
    assert "http" in error_next_to(tab, "Base URL", form)  # the admin API's 400, next to the field it names
    tab.shot("deployments-replace-validation")
    form.get_by_label("Base URL").fill(fake.url)
    form.get_by_label("Upstream model id").fill("fake-model-3")
    form.get_by_role("button", name="Replace").click()
    tab.page.get_by_text(f"Replaced {remote}.").wait_for()
    assert form.count() == 0  # the replace form closes
    view = ui_gateway.api("GET", f"/api/deployments/{remote}").json()
    assert view["upstream_model"] == "fake-model-3" and view["upstream_key"] == "***"  # the key was kept
    assert listed(ui_gateway, remote)["upstream_model"] == "fake-model-3"
    assert unexpected(tab.errors) == []


def test_add_and_remove_aliases_from_the_ui(tab: Tab, ui_gateway: LiveGateway, remote: str) -> None:
    tab.sign_in(ui_gateway.admin_key)
    tab.go("deployments")
    label = f"New alias for {remote}"
    for bad, why in (("bad alias!", "alias"), ("smollm2-135m-instruct", "already a name")):
        tab.page.get_by_label(label).fill(bad)
        tab.page.get_by_role("button", name=f"Add alias to {remote}").click()
        assert why in error_next_to(tab, label)
    tab.page.get_by_label(label).fill("ui-remote-alias")
    tab.page.get_by_role("button", name=f"Add alias to {remote}").click()
    tab.page.get_by_text(f"{remote} is also called ui-remote-alias.").wait_for()
    assert ui_gateway.api("GET", f"/api/deployments/{remote}").json()["aliases"] == ["ui-remote-alias"]
    assert "(also: ui-remote-alias)" in ui_gateway.cli("deployments").stdout
    deadline = time.monotonic() + 5
    while chat(ui_gateway, "ui-remote-alias").status_code != 200:  # routed within the reload interval
        assert time.monotonic() < deadline, "the alias does not route"
        time.sleep(0.2)
    tab.shot("deployments-aliases")
    tab.page.get_by_role("button", name=f"Remove alias ui-remote-alias of {remote}").click()
    tab.page.get_by_text(f"{remote} is no longer called ui-remote-alias.").wait_for()
    assert ui_gateway.api("GET", f"/api/deployments/{remote}").json()["aliases"] == []
    assert listed(ui_gateway, remote)["aliases"] == []
    assert unexpected(tab.errors) == []


def test_scale_replicas_from_the_ui(tab: Tab, ui_gateway: LiveGateway) -> None:
    name = "ui-scaled"
    created = ui_gateway.api("POST", "/api/deployments", {"name": name, "engine": "command", "command": FAKE_COMMAND,
                                                          "health_path": "/v1/models"})
    assert created.status_code == 201, created.text
    try:
        tab.sign_in(ui_gateway.admin_key)
        tab.go("deployments")
        label = f"Replicas of {name}"
        for bad in ("0", "65"):
            tab.page.get_by_label(label).fill(bad)
            tab.page.get_by_role("button", name=f"Scale {name}").click()
            assert "replicas" in error_next_to(tab, label)
        tab.page.get_by_label(label).fill("2")
        tab.page.get_by_role("button", name=f"Scale {name}").click()
        tab.page.get_by_text(f"{name} now runs 2 replica(s).").wait_for()
        assert ui_gateway.api("GET", f"/api/deployments/{name}").json()["replicas"] == 2
        assert listed(ui_gateway, name)["replicas"] == 2
        deadline = time.monotonic() + 60
        while len(ui_gateway.api("GET", f"/api/deployments/{name}").json()["instances"]) != 2:
            assert time.monotonic() < deadline, "the second instance was not started"
            time.sleep(0.5)
        # replacing an engine deployment: its args are checked, and what the form does not show (the command) stays
        tab.page.get_by_role("button", name=f"Replace {name}").click()
        form = tab.page.locator("form", has=tab.page.get_by_role("heading", name=f"Replace {name}"))
        assert form.get_by_label("Engine", exact=True).input_value() == "command"
        args = "Engine args (KEY=VALUE per line)"
        form.get_by_label(args).fill("startup_timeout=soon")
        form.get_by_role("button", name="Replace").click()
        assert "startup_timeout" in error_next_to(tab, args, form)
        form.get_by_label(args).fill("startup_timeout=120")
        form.get_by_role("button", name="Replace").click()
        tab.page.get_by_text(f"Replaced {name}.").wait_for()
        view = ui_gateway.api("GET", f"/api/deployments/{name}").json()
        assert view["engine_args"] == {"startup_timeout": "120"} and view["command"] == FAKE_COMMAND
        assert view["replicas"] == 2
        assert unexpected(tab.errors) == []
    finally:
        ui_gateway.api("DELETE", f"/api/deployments/{name}")
