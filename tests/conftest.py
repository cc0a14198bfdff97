"""Fixtures shared by every test package: a fake upstream, a live gateway, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway
from tests.postgres_server import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeUpstream]:
    """A fake OpenAI-compatible upstream shared by the session (its model is `fake-model`)."""
    upstream = FakeUpstream(models=("fake-model",))
    upstream.start_in_thread()
    yield upstream
    upstream.stop_thread()


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory, fake: FakeUpstream) -> Iterator[LiveGateway]:
    """A live `modelport serve` (SQLite) with `fake-model` deployed on the fake upstream."""
    with LiveGateway(tmp_path_factory.mktemp("gateway")) as live:
        live.deploy("fake-model", [fake.url])
        yield live


@pytest.fixture
def fresh_gateway(tmp_path: Path) -> Iterator[LiveGateway]:
    """A gateway of its own, for tests that change global state or stop it."""
    live = LiveGateway(tmp_path / "gw")
    yield live
    if live.process is not None:
        live.stop()


@pytest.fixture(scope="session")
def builtin_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    """A live `modelport serve` with the default built-in models deployed and ready."""
    with LiveGateway(tmp_path_factory.mktemp("defaults"), defaults=True) as live:
        for name in ("smollm2-135m-instruct", "all-minilm-l6-v2", "e5-small-bi-encoder-rerank", "piper-en-us-joe",
                     "whisper-tiny-en"):
            live.wait_ready(name, timeout=180)
        yield live
