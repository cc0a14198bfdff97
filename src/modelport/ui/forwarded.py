"""What the UI believes about a request that came through a reverse proxy: the client's address and
whether the page was fetched over TLS.

The gateway serves plain HTTP; TLS, when there is any, ends at a proxy in front of it. Only a peer named by
`--trusted-proxy` (an address or a network) is believed about `X-Forwarded-For` and `X-Forwarded-Proto`:
anyone else could write them to dodge the sign-in limit. For the UI these decide the session cookie's
`Secure` flag and the address failed sign-ins count under."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from modelport.relay.headers import header

_MAX_HOPS = 16  # X-Forwarded-For entries read from the right; the rest cannot be told from forged ones

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_proxies(entries: Iterable[str]) -> tuple[Network, ...]:
    """`--trusted-proxy` values as networks (`10.0.0.7`, `10.0.0.0/8`, `::1`); ValueError for a bad one."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


class ProxyTrust:
    """The trusted proxies of one gateway, and what a request says through them."""

    def __init__(self, proxies: Iterable[str] = ()) -> None:
        self.networks = parse_proxies(proxies)

    def trusts(self, address: str) -> bool:
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
            parsed = parsed.ipv4_mapped
        return any(parsed in network for network in self.networks)

    def client_address(self, scope: dict[str, Any]) -> str:
        """The peer's address; behind trusted proxies, the first untrusted address of X-Forwarded-For from the
        right (each proxy appends the address it got the request from)."""
        client = scope.get("client")
        address = str(client[0]) if client else ""
        if not self.trusts(address):
            return address
        forwarded = (header(scope["headers"], b"x-forwarded-for") or b"").decode("latin-1")
        for hop in reversed([part.strip() for part in forwarded.split(",")][-_MAX_HOPS:]):
            if not hop:
                break
            address = hop
            if not self.trusts(hop):
                break
        return address

    def is_https(self, scope: dict[str, Any]) -> bool:
        """Whether the browser fetched this over TLS: the gateway's own scheme, or what a trusted proxy says."""
        if scope.get("scheme") == "https":
            return True
        client = scope.get("client")
        if not client or not self.trusts(str(client[0])):
            return False
        proto = (header(scope["headers"], b"x-forwarded-proto") or b"").decode("latin-1")
        return proto.split(",")[0].strip().lower() == "https"
