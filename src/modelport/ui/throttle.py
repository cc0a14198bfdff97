"""Failed sign-ins, limited per client address: a leaky bucket each, in a table of bounded size.

Each address may fail `burst` times in a row; one more try comes back every `refill_seconds`. While its
bucket is empty the address gets a 429 with `Retry-After`, and its key is not even checked, so a guessing
run stops. IPv6 addresses count by /64, the block one host usually holds. The table keeps at most
`max_clients` addresses: full, it drops those whose bucket has refilled (as if never seen), else the
longest untouched. Each `--workers` process keeps its own table."""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from modelport.errors import RateLimited


def client_bucket(address: str) -> str:
    """The name an address counts under: itself, or its /64 for IPv6."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


class SignInThrottle:
    """Per-address limit on failed sign-ins: `check` before verifying a key, `failed` after a wrong one."""

    def __init__(self, *, burst: int = 10, refill_seconds: float = 6.0, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self.refill_seconds = refill_seconds
        self.max_clients = max_clients
        self._clock = clock
        self._failures: OrderedDict[str, tuple[float, float]] = OrderedDict()  # bucket: (level, at)

    def __len__(self) -> int:
        return len(self._failures)

    def _level(self, bucket: str, now: float) -> float:
        """How many failures `bucket` holds now (they leak out at one per `refill_seconds`)."""
        level, at = self._failures.get(bucket, (0.0, now))
        return max(0.0, level - (now - at) / self.refill_seconds)

    def check(self, address: str) -> None:
        """Raise `RateLimited` (429, Retry-After) while `address` has no failure left to spend."""
        now = self._clock()
        level = self._level(client_bucket(address), now)
        if level > self.burst - 1:
            wait = math.ceil((level - (self.burst - 1)) * self.refill_seconds)
            raise RateLimited(f"Too many failed sign-ins from this address; try again in {wait} s.",
                              code="sign_in_rate_limited", retry_after=max(1, wait))

    def failed(self, address: str) -> None:
        """Count one failed sign-in of `address`."""
        now = self._clock()
        bucket = client_bucket(address)
        level = self._level(bucket, now) + 1
        self._failures.pop(bucket, None)
        if len(self._failures) >= self.max_clients:
            self._make_room(now)
        self._failures[bucket] = (level, now)

    def _make_room(self, now: float) -> None:
        """Drop the refilled buckets at the front (the table is in order of last failure), then if need be
        the longest untouched one: O(1) a failure on the average, even when the table stays full."""
        while self._failures and self._level(next(iter(self._failures)), now) == 0.0:
            self._failures.popitem(last=False)
        if len(self._failures) >= self.max_clients:
            self._failures.popitem(last=False)
