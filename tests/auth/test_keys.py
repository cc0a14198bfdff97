"""Key format, hashing and verification against a real store."""

from __future__ import annotations

import asyncio
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from modelport.auth.instance_secrets import InstanceSecrets
from modelport.auth.keys import generate_key, hash_secret, parse_token, secret_matches
from modelport.auth.verifier import KeyVerifier, token_from_headers
from modelport.errors import AuthenticationFailed, PermissionDenied
from modelport.records import ApiKey, InstanceRecord, InstanceState, KeyScope
from modelport.store import Store


def test_token_round_trip_and_hash() -> None:
    new = generate_key()
    assert new.token.startswith("mp-")
    assert parse_token(new.token) == (new.id, new.secret)
    assert len(new.secret) >= 40  # 256 random bits
    assert secret_matches(new.secret, new.secret_hash)
    assert not secret_matches(new.secret + "x", new.secret_hash)
    assert new.secret not in new.secret_hash and hash_secret(new.secret) == new.secret_hash


@pytest.mark.parametrize("token", ["", "mp-", "sk-abc", "mp-SHORT-secret", "mp-abcdefghijkl-short"])
def test_malformed_tokens_are_rejected(token: str) -> None:
    assert parse_token(token) is None


def test_headers() -> None:
    assert token_from_headers(b"Bearer abc", None) == "abc"
    assert token_from_headers(b"bearer  abc ", None) == "abc"
    assert token_from_headers(None, b"xyz") == "xyz"
    assert token_from_headers(b"Basic abc", b"xyz") == "xyz"
    assert token_from_headers(None, None) is None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_cache_outlives_revocation_by_at_most_its_ttl(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/db.sqlite")
    new = generate_key()
    store.add_key(ApiKey(new.id, "k", new.secret_hash, KeyScope.INFERENCE, None, datetime.now(UTC)))
    clock = Clock()
    verifier = KeyVerifier(store, ttl=1.0, clock=clock)

    async def scenario() -> None:
        assert (await verifier.verify(new.token, KeyScope.INFERENCE)).id == new.id
        store.revoke_key(new.id, datetime.now(UTC))
        clock.now = 0.5
        await verifier.verify(new.token, KeyScope.INFERENCE)  # still cached
        clock.now = 1.01
        with pytest.raises(AuthenticationFailed):
            await verifier.verify(new.token, KeyScope.INFERENCE)
        with pytest.raises(PermissionDenied):
            other = generate_key()
            store.add_key(ApiKey(other.id, "o", other.secret_hash, KeyScope.INFERENCE, None, datetime.now(UTC)))
            await verifier.verify(other.token, KeyScope.ADMIN)

    asyncio.run(scenario())
    store.close()


def test_expiry_is_checked_on_every_request_even_when_cached(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/db.sqlite")
    new = generate_key()
    soon = datetime.now(UTC) + timedelta(milliseconds=300)
    store.add_key(ApiKey(new.id, "k", new.secret_hash, KeyScope.INFERENCE, None, datetime.now(UTC), soon))
    verifier = KeyVerifier(store, ttl=3600)

    async def scenario() -> None:
        await verifier.verify(new.token, KeyScope.INFERENCE)
        await asyncio.sleep(0.4)
        with pytest.raises(AuthenticationFailed):
            await verifier.verify(new.token, KeyScope.INFERENCE)

    asyncio.run(scenario())
    store.close()


def test_instance_secrets_are_stable_per_key_and_distinct_per_instance(tmp_path: Path) -> None:
    path = tmp_path / "instance-key"
    first = InstanceSecrets.load_or_create(path)
    again = InstanceSecrets.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.for_instance("a", 0, 9000) == again.for_instance("a", 0, 9000)
    assert len({first.for_instance("a", 0, 9000), first.for_instance("a", 1, 9000),
                first.for_instance("a", 0, 9001), first.for_instance("b", 0, 9000)}) == 4
    record = InstanceRecord("a", 0, "http://127.0.0.1:9000/v1", InstanceState.READY, "", datetime.now(UTC))
    assert first.header_for(record) == b"Bearer " + first.for_instance("a", 0, 9000).encode()
    assert InstanceSecrets.load_or_create(tmp_path / "other").for_instance("a", 0, 9000) != first.for_instance("a", 0, 9000)
