"""The `/ui` routes: the page, its hashed assets, sign-in and sign-out, and the page's own reads.

`/` and `/ui` redirect (relatively) to `ui/`. Everything else the page shows comes from the admin API
(`/api/...`) and the inference API (`/v1/...`), which accept the session cookie with its CSRF header
(`modelport.auth.session`)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import msgspec

from modelport.api.responses import send_bytes, send_error
from modelport.auth.session import COOKIE, Session
from modelport.engines.catalog import load_catalog
from modelport.errors import (
    AuthenticationFailed,
    MethodNotAllowed,
    ModelportError,
    NotFound,
    PermissionDenied,
    UnsupportedMediaType,
)
from modelport.records import ApiKey, KeyScope
from modelport.relay.body import ClientGone, decode_struct, read_body
from modelport.relay.headers import header
from modelport.types import Receive, Send
from modelport.ui.assets import IMMUTABLE, Assets
from modelport.ui.forwarded import ProxyTrust
from modelport.ui.throttle import SignInThrottle

if TYPE_CHECKING:
    from modelport.gateway import Gateway

log = logging.getLogger(__name__)
_SIGN_IN_LIMIT = 4096
_SECURITY = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
             (b"x-frame-options", b"DENY")]
_NO_STORE = [*_SECURITY, (b"cache-control", b"no-store")]


class SignIn(msgspec.Struct):
    key: str


def is_ui_path(path: str) -> bool:
    """Whether the UI answers `path` (the dispatcher answers everything else)."""
    return path in ("/", "/ui") or path.startswith("/ui/")


class UiApp:
    """The ASGI handler of the UI's paths for one gateway process."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self.assets = Assets.load()
        self.proxies = ProxyTrust(gw.settings.trusted_proxies)
        self.throttle = SignInThrottle()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        try:
            if self.gw.origins.active:
                self.gw.origins.check_host(scope)
            await self._route(scope, receive, send)
        except ClientGone:
            return
        except ModelportError as error:
            await send_error(send, error, "openai")
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            await send_error(send, ModelportError("Internal error; see the gateway's log."), "openai")

    async def _route(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        if path in ("/", "/ui"):
            _allow(method, "GET", "HEAD")
            await send_bytes(send, 302, b"", b"text/plain", [(b"location", b"ui/"), *_SECURITY])
        elif path == "/ui/":
            _allow(method, "GET", "HEAD")
            await send_bytes(send, 200, self.assets.index, b"text/html; charset=utf-8",
                             [*_NO_STORE, (b"content-security-policy", self.assets.csp)])
        elif path.startswith("/ui/assets/"):
            _allow(method, "GET", "HEAD")
            await self._asset(path[len("/ui/assets/") :], send)
        elif path == "/ui/session":
            _allow(method, "GET", "POST", "DELETE")
            await {"GET": self._whoami, "POST": self._sign_in, "DELETE": self._sign_out}[method](scope, receive, send)
        elif path == "/ui/models":
            _allow(method, "GET")
            await self._models(scope, send)
        elif path == "/ui/metrics":
            _allow(method, "GET")
            await self._metrics(scope, send)
        elif path == "/ui/catalog":
            _allow(method, "GET")
            await self._catalog(scope, send)
        else:
            raise NotFound(f"No UI page `{path}`.", code="unknown_route")

    async def _asset(self, name: str, send: Send) -> None:
        asset = self.assets.files.get(name)
        if asset is None:
            raise NotFound(f"No UI asset `{name}`.", code="unknown_route")
        await send_bytes(send, 200, asset.body, asset.content_type, [*_SECURITY, (b"cache-control", IMMUTABLE)])

    async def _whoami(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        session = await self.gw.sessions.session(scope["headers"])
        await _send_no_store(send, 200, {"signed_in": False} if session is None else session_view(session))

    async def _sign_in(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        headers = scope["headers"]
        _same_origin(headers)
        content_type = header(headers, b"content-type") or b""
        if not content_type.lower().startswith(b"application/json"):
            raise UnsupportedMediaType("Sign in with a JSON body: {\"key\": \"mp-...\"}.")
        body = decode_struct(await read_body(receive, _SIGN_IN_LIMIT), SignIn)
        client = self.proxies.client_address(scope)
        self.throttle.check(client)
        try:
            key = await self.gw.verifier.verify(body.key.strip(), KeyScope.INFERENCE)
        except AuthenticationFailed:
            self.throttle.failed(client)
            raise
        cookie, session = self.gw.sessions.create(key)
        secure = "; Secure" if self.proxies.is_https(scope) else ""
        max_age = max(0, session.expires - int(time.time()))
        set_cookie = f"{COOKIE}={cookie}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
        body_bytes = msgspec.json.encode(session_view(session))
        await send_bytes(send, 200, body_bytes, extra=[*_NO_STORE, (b"set-cookie", set_cookie.encode())])

    async def _sign_out(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        headers = scope["headers"]
        await self.gw.sessions.authenticate(headers, KeyScope.INFERENCE)  # a valid session and its CSRF token
        session = await self.gw.sessions.session(headers)
        if session is not None:
            await asyncio.to_thread(self.gw.sessions.revoke, session)
        secure = "; Secure" if self.proxies.is_https(scope) else ""
        clear = f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{secure}"
        await send_bytes(send, 200, b'{"signed_out":true}', extra=[*_NO_STORE, (b"set-cookie", clear.encode())])

    async def _models(self, scope: dict[str, Any], send: Send) -> None:
        key = await self._require(scope, KeyScope.INFERENCE)
        routes = self.gw.router.visible_routes(key)
        data = [{"id": route.requested_name, "category": route.spec.category.value} for route in routes]
        await _send_no_store(send, 200, {"data": data})

    async def _metrics(self, scope: dict[str, Any], send: Send) -> None:
        """`/metrics` for the dashboard (which cannot send a key): the same exposition, to admin sessions."""
        await self._require(scope, KeyScope.ADMIN)
        self.gw.usage.ledger.settle()
        body = await asyncio.to_thread(self.gw.usage.metrics.exposition)
        await send_bytes(send, 200, body, b"text/plain; version=0.0.4; charset=utf-8", _NO_STORE)

    async def _catalog(self, scope: dict[str, Any], send: Send) -> None:
        await self._require(scope, KeyScope.ADMIN)
        await _send_no_store(send, 200, {"data": await asyncio.to_thread(catalog_view)})

    async def _require(self, scope: dict[str, Any], needed: KeyScope) -> ApiKey:
        key = await self.gw.sessions.authenticate(scope["headers"], needed)
        if key is None:
            raise AuthenticationFailed("Not signed in.")
        return key


def session_view(session: Session) -> dict[str, Any]:
    """What the page learns about its session: never the key, only its id, name, scope and allow-list."""
    key = session.key
    return {"signed_in": True, "key_id": key.id, "name": key.name, "scope": key.scope.value,
            "models": list(key.models) if key.models is not None else None,
            "expires": session.expires, "csrf": session.csrf}


def catalog_view() -> list[dict[str, Any]]:
    """The model catalog as `modelport models` shows it: what can run here, and what to install if not."""
    rows = []
    for entry in load_catalog():
        ready, why, hint = entry.readiness()
        rows.append({"name": entry.name, "engine": entry.engine, "categories": list(entry.categories),
                     "card": entry.card, "license": entry.license, "default": entry.default,
                     "ready": ready, "why": why, "install": hint})
    return rows


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise MethodNotAllowed(f"{method} is not allowed here.", allowed=allowed)


def _same_origin(headers: list[tuple[bytes, bytes]]) -> None:
    """A sign-in posted from another site's page is refused (login CSRF). Browsers say where a request comes
    from in `Sec-Fetch-Site`, which no page can set; a JSON body already needs a CORS preflight cross-site,
    and the UI's paths answer none. (The Host is no test: behind a proxy it is often the upstream's name.)"""
    site = (header(headers, b"sec-fetch-site") or b"same-origin").lower()
    if site not in (b"same-origin", b"none"):
        raise PermissionDenied("Sign in from the gateway's own page.", code="origin_not_allowed")


async def _send_no_store(send: Send, status: int, data: object) -> None:
    await send_bytes(send, status, msgspec.json.encode(data), extra=_NO_STORE)
