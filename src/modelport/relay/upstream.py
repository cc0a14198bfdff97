"""The pool of upstream connections: one aiohttp session per gateway process (keep-alive, no DNS cache
churn, bodies passed through compressed or not exactly as they come)."""

from __future__ import annotations

import aiohttp


def create_session() -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60, ttl_dns_cache=300, enable_cleanup_closed=True)
    return aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        skip_auto_headers=("user-agent",),
        timeout=aiohttp.ClientTimeout(total=None),
        trust_env=False,
    )
