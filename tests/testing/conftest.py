"""Fixtures: a live fake upstream per test and SDK clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest

from modelport.testing import FakeUpstream


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpstream]:
    async with FakeUpstream(models=("fake-model", "other-model")) as server:
        yield server


@pytest.fixture
async def client(fake: FakeUpstream) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=fake.url, api_key="unused", max_retries=0) as sdk:
        yield sdk
