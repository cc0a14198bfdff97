"""Upstream clients of a gateway process.

- `create_pool()`: the relay's pooled HTTP/1.1 client (`relay.http1`), for every request it forwards.
- `create_session()`: an aiohttp session for the supervisor's health probes only (off the request path).
"""

from __future__ import annotations

import aiohttp

from modelport.relay.http1 import Pool


def create_pool() -> Pool:
    """Keep-alive connections per instance origin, idle ones closed after 60 s."""
    return Pool(idle_seconds=60.0)


def create_session() -> aiohttp.ClientSession:
    """The health probes' session (bodies passed through compressed or not, no per-request total)."""
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60, ttl_dns_cache=300, enable_cleanup_closed=True)
    return aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(total=None),
        trust_env=False,
    )
