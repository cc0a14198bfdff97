"""One headless Chromium (Debian's, via Playwright's `executable_path`) per test module, a fresh browser
context (no cookies) per test, and the screenshots every page test leaves under `.artifacts/ui/`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest

from tests.harness import LiveGateway

CHROMIUM = os.environ.get("MODELPORT_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("MODELPORT_UI_ARTIFACTS") or Path(__file__).resolve().parents[2] / ".artifacts" / "ui")

if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: scripts/test runs scripts/ensure-chromium")
    pytest.skip(f"{CHROMIUM} is missing: run scripts/ensure-chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@dataclass
class Tab:
    """A page of a fresh browser context, with the console errors and page errors it has seen."""

    page: sync_api.Page
    base: str  # the gateway's URL, no trailing slash
    errors: list[str] = field(default_factory=list)

    def open(self, route: str = "") -> None:
        self.page.goto(f"{self.base}/ui/{route}")

    def sign_in(self, key: str) -> None:
        """Sign in with `key` and wait until the page is signed in (the header names the key)."""
        self.open()
        self.page.get_by_label("API key").fill(key)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.get_by_role("button", name="Sign out").wait_for()
        self.page.locator(".who", has_text="(").wait_for()

    def go(self, page: str) -> None:
        """Navigate the signed-in UI to `#/page` and wait for its heading."""
        self.page.evaluate("(hash) => { window.location.hash = hash; }", f"#/{page}")
        self.page.locator("main h1").first.wait_for()

    def row(self, name: str) -> sync_api.Locator:
        """The table row headed by deployment `name`, exactly (the session's gateway may hold other deployments
        of the same model, whose rows mention it too)."""
        header = self.page.get_by_role("rowheader", name=name, exact=True)
        return self.page.locator("table.grid tbody tr").filter(has=header)

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def fetch(self, method: str, path: str, *, csrf: str | None = None, body: object = None) -> dict[str, object]:
        """A fetch() from the page (same origin, with the session cookie): {status, body}."""
        script = """async ([method, path, csrf, body]) => {
            const headers = {"Content-Type": "application/json"};
            if (csrf !== null) headers["X-CSRF-Token"] = csrf;
            const r = await fetch(path, {method, headers, body: body === null ? undefined : JSON.stringify(body)});
            return {status: r.status, body: await r.text()};
        }"""
        return self.page.evaluate(script, [method, path, csrf, body])  # type: ignore[no-any-return]

    def csrf(self) -> str:
        """The CSRF token of the page's session, as `GET /ui/session` tells it (which must say signed in)."""
        answer = self.fetch("GET", "session")
        assert answer["status"] == 200, answer
        session = orjson.loads(str(answer["body"]))
        assert session["signed_in"] and session["csrf"], answer
        return str(session["csrf"])


@pytest.fixture(scope="module")  # not longer: Playwright's sync API keeps an event loop running in this thread,
def browser() -> Iterator[sync_api.Browser]:  # which the async tests of later modules could not run beside
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage",
                                                    # a microphone that plays a tone, granted without a prompt
                                                    "--use-fake-ui-for-media-stream",
                                                    "--use-fake-device-for-media-stream"])
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def ui_gateway(builtin_gateway: LiveGateway) -> LiveGateway:
    return builtin_gateway


@pytest.fixture
def tab(browser: sync_api.Browser, ui_gateway: LiveGateway) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    opened = Tab(page, ui_gateway.url)
    page.on("console", lambda message: opened.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: opened.errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    yield opened
    context.close()
