"""A gateway with short listener limits and the fake upstream behind the generic proxy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway

PROXIED = "proxied"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, fake: FakeUpstream) -> Iterator[LiveGateway]:
    """`modelport serve` whose heads and bodies time out after 1 s and whose answers after 2 s unread."""
    args = ["--head-timeout", "1", "--body-timeout", "1", "--write-timeout", "2"]
    with LiveGateway(tmp_path_factory.mktemp("wire"), *args) as live:
        live.deploy(PROXIED, [fake.url], generic_proxy=True)
        yield live


@pytest.fixture(scope="module")
def key(limited: LiveGateway) -> str:
    return limited.create_key("wire")
