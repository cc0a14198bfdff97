"""The web UI in a real browser against a live `modelport serve` with the built-in models: serving, sign-in,
the admin pages, what an inference key can reach, CSRF, and a path prefix (playgrounds: test_playgrounds.py)."""

from __future__ import annotations

import re
import time

import httpx
import orjson

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway
from tests.ui.conftest import Tab
from tests.ui.prefix_proxy import PrefixProxy

ADMIN_PAGES = ("dashboard", "deployments", "keys", "usage")
PLAYGROUNDS = ("chat", "embeddings", "rerank", "speech", "transcription")
UNLABELLED = """() => Array.from(document.querySelectorAll("input, select, textarea, button"))
    .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute("aria-label") && !c.textContent.trim())
    .map((c) => c.outerHTML)"""


def test_the_page_and_its_assets_are_served_by_the_gateway_with_hashed_names(ui_gateway: LiveGateway) -> None:
    root = httpx.get(ui_gateway.url + "/")
    assert root.status_code == 302 and root.headers["location"] == "ui/"  # relative: works under a prefix
    assert httpx.get(ui_gateway.url + "/ui").headers["location"] == "ui/"
    page = httpx.get(ui_gateway.url + "/ui/")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "script-src 'self' 'sha256-" in page.headers["content-security-policy"]
    assets = re.findall(r'<(?:link|script)[^>]+(?:src|href)="([^"]+)"', page.text)
    assert len(assets) == 3 and all(re.fullmatch(r"assets/[\w/-]+\.[0-9a-f]{12}\.(js|css|svg)", a) for a in assets)
    assert "//" not in page.text.replace("<!doctype", "")  # nothing from elsewhere, no absolute URL
    importmap = orjson.loads(page.text.split('<script type="importmap">')[1].split("</script>")[0])["imports"]
    assert importmap["./assets/pages/chat.js"].startswith("./assets/pages/chat.")
    for asset in [*assets, *(path[2:] for path in importmap.values())]:
        answer = httpx.get(f"{ui_gateway.url}/ui/{asset}")
        assert answer.status_code == 200, asset
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(ui_gateway.url + "/ui/assets/app.000000000000.js").status_code == 404


def test_sign_in_and_every_page_renders_without_console_errors(tab: Tab, ui_gateway: LiveGateway) -> None:
    tab.open()
    tab.page.get_by_role("heading", name="Sign in").wait_for()
    # hidden while signed out (a `button { display }` rule once showed it, and tests signing in saw it at once)
    assert not tab.page.get_by_role("button", name="Sign out").is_visible()
    assert tab.page.get_by_role("navigation", name="Pages").get_by_role("link").count() == 0  # nothing to go to yet
    tab.shot("sign-in")
    tab.sign_in(ui_gateway.admin_key)
    who = tab.page.locator(".who")
    assert who.inner_text() == "admin (admin)" and ui_gateway.admin_key.split("-")[1] in str(who.get_attribute("title"))
    cookie = next(c for c in tab.page.context.cookies() if c["name"] == "modelport_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and ui_gateway.admin_key not in cookie["value"]
    stored = tab.page.evaluate("() => document.cookie + JSON.stringify(localStorage) + JSON.stringify(sessionStorage)")
    assert ui_gateway.admin_key not in stored and "modelport_session" not in stored
    for page in (*ADMIN_PAGES, *PLAYGROUNDS):
        tab.go(page)
        if page == "dashboard":
            tab.row("smollm2-135m-instruct").get_by_text("ready").wait_for()
        tab.page.wait_for_load_state("networkidle")
        assert tab.page.evaluate(UNLABELLED) == [], page  # every control has an accessible name
        tab.shot(page)
    assert tab.errors == []
    tab.page.get_by_role("button", name="Sign out").click()
    tab.page.get_by_role("heading", name="Sign in").wait_for()
    tab.page.reload()
    tab.page.get_by_role("heading", name="Sign in").wait_for()  # the session is gone, not just hidden


def test_deploy_and_undeploy_from_the_ui(tab: Tab, ui_gateway: LiveGateway, fake: FakeUpstream) -> None:
    tab.sign_in(ui_gateway.admin_key)
    tab.go("deployments")
    form = tab.page.locator("form", has_text="Deploy a model")
    form.get_by_label("Source").select_option("url")
    form.get_by_label("Name (what clients put in model)").fill("bad name!")
    form.get_by_label("Base URL").fill(fake.url)
    form.get_by_role("button", name="Deploy").click()
    error = tab.page.locator("#" + form.get_by_label("Name (what clients put in model)").get_attribute("id") + "-error")
    error.wait_for()
    assert "name" in error.inner_text().lower()  # the admin API's 400, next to the field it names
    tab.shot("deployments-validation")
    form.get_by_label("Name (what clients put in model)").fill("ui-fake")
    form.get_by_role("button", name="Deploy").click()
    tab.page.get_by_text("Deployed ui-fake.").wait_for()
    assert ui_gateway.api("GET", "/api/deployments/ui-fake").json()["urls"] == [fake.url]
    assert "ui-fake" in ui_gateway.cli("deployments").stdout
    tab.page.get_by_role("button", name="Undeploy ui-fake").click()
    tab.page.get_by_text("Undeployed ui-fake.").wait_for()
    assert ui_gateway.api("GET", "/api/deployments/ui-fake").status_code == 404


def test_create_and_revoke_a_key(tab: Tab, ui_gateway: LiveGateway) -> None:
    tab.sign_in(ui_gateway.admin_key)
    tab.go("keys")
    tab.page.get_by_label("Name", exact=True).fill("made-in-ui")
    tab.page.get_by_label("Models (comma separated allow-list)").fill("all-minilm-l6-v2")
    tab.page.get_by_role("button", name="Create key").click()
    secret = tab.page.locator("#new-key-secret")
    secret.wait_for()
    token = secret.input_value()
    tab.shot("keys-created")
    models = httpx.get(ui_gateway.v1 + "/models", headers={"authorization": f"Bearer {token}"}).json()["data"]
    assert [m["id"] for m in models] == ["all-minilm-l6-v2"]
    key_id = token.split("-")[1]
    tab.page.get_by_role("button", name=f"Revoke made-in-ui ({key_id})").click()
    tab.page.get_by_text("Revoked made-in-ui.").wait_for()
    deadline = time.monotonic() + 5
    while httpx.get(ui_gateway.v1 + "/models", headers={"authorization": f"Bearer {token}"}).status_code != 401:
        assert time.monotonic() < deadline, "the revoked key still works"
        time.sleep(0.2)


def test_an_inference_key_sees_only_its_playgrounds(tab: Tab, ui_gateway: LiveGateway) -> None:
    key = ui_gateway.create_key("ui-inference", models=["smollm2-135m-instruct"])
    tab.sign_in(key)
    assert tab.page.get_by_role("link", name="Chat").is_visible()
    for admin_page in ("Dashboard", "Deployments", "Keys", "Usage"):
        assert tab.page.get_by_role("link", name=admin_page).count() == 0
    tab.go("keys")
    tab.page.get_by_text("This page needs an admin key").wait_for()
    csrf = tab.csrf()
    for method, path in (("GET", "../api/keys"), ("GET", "../api/deployments"), ("POST", "../api/keys"),
                         ("GET", "catalog")):
        answer = tab.fetch(method, path, csrf=csrf, body={"name": "escalated"} if method == "POST" else None)
        assert answer["status"] == 403, (path, answer)
    assert not any(k["name"] == "escalated" for k in ui_gateway.api("GET", "/api/keys").json()["data"])
    tab.go("chat")
    options = tab.page.get_by_label("Model", exact=True).locator("option").all_inner_texts()
    assert options == ["smollm2-135m-instruct"]  # only what its allow-list names
    tab.go("embeddings")
    tab.page.get_by_text("No ready model of category embedding").wait_for()
    tab.shot("inference-key")


def test_calls_without_the_csrf_token_are_refused(tab: Tab, ui_gateway: LiveGateway) -> None:
    tab.sign_in(ui_gateway.admin_key)
    csrf = tab.csrf()
    answer = tab.fetch("GET", "../api/keys", csrf=csrf)
    assert answer["status"] == 200, answer
    for token in (None, "", "x" * 43, csrf[:-1] + ("A" if csrf[-1] != "A" else "B")):
        for method, path, body in (("GET", "../api/keys", None), ("POST", "../api/keys", {"name": "forged"}),
                                   ("POST", "../v1/embeddings", {"model": "all-minilm-l6-v2", "input": "x"}),
                                   ("DELETE", "session", None)):
            answer = tab.fetch(method, path, csrf=token, body=body)
            assert answer["status"] == 403, (method, path, token, answer)
            assert orjson.loads(str(answer["body"]))["error"]["code"] == "csrf_failed"
    assert not any(k["name"] == "forged" for k in ui_gateway.api("GET", "/api/keys").json()["data"])
    # the cookie alone, replayed outside the browser after sign-out, authenticates nothing
    cookie = next(c for c in tab.page.context.cookies() if c["name"] == "modelport_session")["value"]
    headers = {"cookie": f"modelport_session={cookie}", "x-csrf-token": csrf}
    assert httpx.get(ui_gateway.url + "/api/keys", headers=headers).status_code == 200
    tab.page.get_by_role("button", name="Sign out").click()
    tab.page.get_by_role("heading", name="Sign in").wait_for()
    assert httpx.get(ui_gateway.url + "/api/keys", headers=headers).status_code == 401
    # a sign-in posted from another site's page is refused
    for site in ("cross-site", "same-site"):
        other = httpx.post(ui_gateway.url + "/ui/session", json={"key": ui_gateway.admin_key},
                           headers={"origin": "https://evil.example", "sec-fetch-site": site})
        assert other.status_code == 403 and "set-cookie" not in other.headers
    form = httpx.post(ui_gateway.url + "/ui/session", data={"key": ui_gateway.admin_key})  # what a form can send
    assert form.status_code == 415 and "set-cookie" not in form.headers


def test_the_ui_works_under_a_path_prefix(tab: Tab, ui_gateway: LiveGateway) -> None:
    with PrefixProxy(ui_gateway.url) as proxy:
        tab.page.goto(proxy.url + "/")  # redirected to ui/ under the prefix
        assert tab.page.url == proxy.url + "/ui/"
        tab.page.get_by_label("API key").fill(ui_gateway.admin_key)
        tab.page.get_by_role("button", name="Sign in").click()
        tab.row("smollm2-135m-instruct").wait_for()
        tab.go("chat")
        tab.page.get_by_label("Message").fill("Say hi.")
        tab.page.get_by_label("Max tokens").fill("8")
        tab.page.get_by_role("button", name="Send").click()
        tab.page.locator(".column .stats", has_text="tokens/s").wait_for(timeout=60_000)  # streamed through it
        assert f"{proxy.url}/v1/chat/completions" in tab.page.locator(".snippets pre").first.inner_text()
    assert tab.errors == []


def test_usage_page_exports_csv(tab: Tab, ui_gateway: LiveGateway) -> None:
    # the page's own calls are counted under /api: once that group is in the ledger, the groups hold still
    deadline = time.monotonic() + 15
    while "/api" not in [r["group"] for r in ui_gateway.api("GET", "/api/usage?group=endpoint&from=7d").json()["data"]]:
        assert time.monotonic() < deadline, "admin API calls never reached the usage ledger"
        time.sleep(0.5)
    tab.sign_in(ui_gateway.admin_key)
    tab.go("usage")
    tab.page.get_by_label("Group by").select_option("endpoint")
    tab.page.locator("table.grid caption", has_text="Usage by endpoint").wait_for()
    with tab.page.expect_download() as download:
        tab.page.get_by_role("link", name="Export CSV").click()
    rows = download.value.path().read_text().splitlines()
    assert rows[0].startswith("group,requests,errors,input_tokens,output_tokens")
    report = ui_gateway.api("GET", "/api/usage?group=endpoint&from=7d").json()["data"]
    assert [row.split(",")[0] for row in rows[1:]] == [r["group"] for r in report]
    tab.shot("usage-by-endpoint")


def test_usage_charts_by_day_key_and_deployment_show_requests(tab: Tab, ui_gateway: LiveGateway) -> None:
    key = ui_gateway.create_key("usage-charted")
    key_id = key.split("-")[1]
    for _ in range(3):
        answer = httpx.post(ui_gateway.v1 + "/embeddings", headers={"authorization": f"Bearer {key}"}, timeout=30,
                            json={"model": "all-minilm-l6-v2", "input": "counted"})
        assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + 15
    # all three rows: the ledger writes in batches, and one may land before the others (CI run: 1 of 3)
    while not any(r["group"] == key_id and r["requests"] == 3
                  for r in ui_gateway.api("GET", "/api/usage?group=key&from=7d").json()["data"]):
        assert time.monotonic() < deadline, "the requests never reached the usage ledger"
        time.sleep(0.5)
    tab.sign_in(ui_gateway.admin_key)
    tab.go("usage")
    charts = {by: tab.page.get_by_role("figure", name=f"Requests by {by}") for by in ("day", "key", "deployment")}
    charted = charts["key"].locator(".bar-row", has_text=f"usage-charted ({key_id})")
    charted.wait_for()
    assert charted.locator(".num").inner_text() == "3"
    assert charts["deployment"].locator(".bar-row", has_text="all-minilm-l6-v2").count() == 1
    days = [r["group"] for r in ui_gateway.api("GET", "/api/usage?group=day&from=7d").json()["data"]]
    assert days and all(charts["day"].locator(".bar-row", has_text=day).count() == 1 for day in days)
    assert all(chart.is_visible() for chart in charts.values())  # all three at once
    assert tab.page.locator("table.grid caption", has_text="Usage by day").count() == 1
    tab.shot("usage-charts")
    assert tab.errors == []


def test_the_dashboard_shows_changes_without_a_reload(tab: Tab, ui_gateway: LiveGateway, fake: FakeUpstream) -> None:
    tab.sign_in(ui_gateway.admin_key)
    tab.go("dashboard")
    tab.row("smollm2-135m-instruct").wait_for()
    tab.page.evaluate("() => { window.notReloaded = true; }")
    created = ui_gateway.api("POST", "/api/deployments", {"name": "ui-live", "urls": [fake.url]})
    assert created.status_code == 201, created.text
    try:
        tab.row("ui-live").get_by_text("ready").wait_for(timeout=10_000)  # polled in, then probed ready
    finally:
        ui_gateway.api("DELETE", "/api/deployments/ui-live")
    tab.row("ui-live").wait_for(state="detached", timeout=10_000)
    assert tab.page.evaluate("() => window.notReloaded") is True
    assert tab.errors == []
