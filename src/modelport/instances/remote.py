"""Remote instances: URLs something else runs. The supervisor probes them; it cannot start or stop them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp

from modelport.records import DeploymentSpec, InstanceState

log = logging.getLogger(__name__)

StateSink = Callable[[int, str, InstanceState, str, int | None], Awaitable[None]]  # (ordinal, url, state, reason, pid)


def normalise_base_url(url: str) -> str:
    """An OpenAI-style base URL without a trailing slash; a bare host gets `/v1`."""
    url = url.rstrip("/")
    scheme_end = url.find("://")
    if scheme_end >= 0 and "/" not in url[scheme_end + 3 :]:
        url += "/v1"
    return url


async def probe(session: aiohttp.ClientSession, url: str, spec: DeploymentSpec, timeout: float) -> str | None:
    """None when the instance answers its health path with a 2xx; otherwise why not."""
    headers = {"authorization": f"Bearer {spec.upstream_key}"} if spec.upstream_key else {}
    try:
        async with session.get(
            url + spec.health_path, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            await response.read()
            if 200 <= response.status < 300:
                return None
            return f"health probe answered HTTP {response.status}"
    except TimeoutError:
        return f"health probe timed out after {timeout:g} s"
    except aiohttp.ClientError as exc:
        return f"health probe failed: {exc}"


class RemoteMonitor:
    """Probes one remote URL forever and reports state changes."""

    def __init__(
        self, session: aiohttp.ClientSession, spec: DeploymentSpec, ordinal: int, interval: float, sink: StateSink,
        recorded: InstanceState | None = None,
    ) -> None:
        self.spec = spec
        self._recorded = recorded  # the state another gateway sharing the store already recorded
        self.ordinal = ordinal
        self.url = normalise_base_url(spec.urls[ordinal])
        self._session = session
        self._interval = interval
        self._sink = sink

    async def run(self) -> None:
        last = self._recorded
        if last is None:  # never overwrite what another gateway found with "pending"
            await self._sink(self.ordinal, self.url, InstanceState.PENDING, "waiting for the first health probe", None)
        while True:
            failure = await probe(self._session, self.url, self.spec, timeout=min(10.0, self._interval * 2))
            state = InstanceState.READY if failure is None else InstanceState.UNHEALTHY
            if state is not last:
                await self._sink(self.ordinal, self.url, state, failure or "health probe answered", None)
                last = state
            await asyncio.sleep(self._interval)
