"""UI sessions on a real store: what a cookie proves, and everything that ends it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelport.auth.keys import generate_key
from modelport.auth.session import COOKIE, SessionKeeper
from modelport.config import sqlite_url
from modelport.errors import AuthenticationFailed, PermissionDenied
from modelport.records import ApiKey, KeyScope
from modelport.store import Store


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def make_key(store: Store, scope: KeyScope = KeyScope.ADMIN, expires_at: datetime | None = None) -> ApiKey:
    new = generate_key()
    key = ApiKey(new.id, "k", new.secret_hash, scope, None, datetime.now(UTC), expires_at)
    store.add_key(key)
    return key


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(sqlite_url(tmp_path))


def headers(cookie: str, csrf: str | None) -> list[tuple[bytes, bytes]]:
    out = [(b"cookie", f"other=1; {COOKIE}={cookie}".encode())]
    return out + ([(b"x-csrf-token", csrf.encode())] if csrf is not None else [])


async def test_a_session_authenticates_only_with_its_csrf_token(store: Store, tmp_path: Path) -> None:
    keeper = SessionKeeper.in_data_dir(tmp_path, store, key_ttl=0)
    key = make_key(store)
    cookie, session = keeper.create(key)
    assert key.secret_hash not in cookie and key.id in cookie  # names the key, never holds a secret
    assert (await keeper.authenticate(headers(cookie, session.csrf), KeyScope.ADMIN)).id == key.id  # type: ignore[union-attr]
    assert await keeper.authenticate([(b"authorization", b"Bearer x")], KeyScope.ADMIN) is None  # no cookie: not ours
    for wrong in (None, "", session.csrf[:-1]):
        with pytest.raises(PermissionDenied):
            await keeper.authenticate(headers(cookie, wrong), KeyScope.ADMIN)
    other_cookie, _ = keeper.create(key)
    with pytest.raises(PermissionDenied):  # one session's token does not work for another
        await keeper.authenticate(headers(other_cookie, session.csrf), KeyScope.ADMIN)
    assert (tmp_path / "ui-sessions" / "secret").stat().st_mode & 0o777 == 0o600


async def test_tampering_expiry_sign_out_and_key_revocation_end_a_session(store: Store, tmp_path: Path) -> None:
    clock = Clock()
    keeper = SessionKeeper(b"s" * 32, store, tmp_path, lifetime=60, key_ttl=0, clock=clock)
    key = make_key(store)
    cookie, session = keeper.create(key)
    head = cookie.rpartition(".")[0]
    tampered = cookie.replace(f".{session.expires}.", f".{session.expires + 3600}.")
    for bad in (tampered, head + "." + "A" * 43, cookie + "x", ""):
        with pytest.raises(AuthenticationFailed):
            await keeper.authenticate(headers(bad, session.csrf), KeyScope.ADMIN)
    other = SessionKeeper(b"t" * 32, store, tmp_path, key_ttl=0, clock=clock)
    assert await other.session(headers(cookie, None)) is None  # another secret: not ours
    clock.now += 61
    assert await keeper.session(headers(cookie, None)) is None  # expired
    clock.now -= 61
    keeper.revoke(session)
    assert await keeper.session(headers(cookie, None)) is None  # signed out, for every process on the data dir
    cookie, session = keeper.create(key)
    store.revoke_key(key.id, datetime.now(UTC))
    assert await keeper.session(headers(cookie, None)) is None  # the key was revoked


async def test_an_inference_session_lacks_the_admin_scope_and_ends_with_its_key(store: Store, tmp_path: Path) -> None:
    clock = Clock()
    keeper = SessionKeeper(b"s" * 32, store, tmp_path, key_ttl=0, clock=clock)
    soon = datetime.fromtimestamp(clock.now + 30, UTC)
    key = make_key(store, KeyScope.INFERENCE, expires_at=soon)
    cookie, session = keeper.create(key)
    assert session.expires == int(soon.timestamp())  # never outlives the key
    assert await keeper.authenticate(headers(cookie, session.csrf), KeyScope.INFERENCE) is not None
    with pytest.raises(PermissionDenied):
        await keeper.authenticate(headers(cookie, session.csrf), KeyScope.ADMIN)
