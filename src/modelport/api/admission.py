"""Limits at the dispatcher: admit a limited key's request before its handler runs, add the rate-limit
headers to its answer (streams too: they go with the head), and settle it on its usage record once it
ended. An admitted request is never cut off: nothing here touches its body.

What the request names and reserves is read first (`api.admission_body`: a JSON body, an upload's `model`
field, the generic proxy's deployment), and any body read is given again to the handler.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from modelport.api.admission_body import PROXY, Inspected, inspect
from modelport.api.responses import send_error
from modelport.errors import ModelportError
from modelport.quota.answers import rate_headers, refusal
from modelport.quota.state import Refused
from modelport.records import ApiKey
from modelport.types import Receive, Send
from modelport.usage.record import UsageRecord

if TYPE_CHECKING:
    from modelport.gateway import Gateway

Run = Callable[[Receive, Send], Awaitable[None]]
RATE_HEADERS = (b"x-ratelimit-", b"anthropic-ratelimit-")


def is_limited(gw: Gateway, key: ApiKey | None, method: str, endpoint: str) -> bool:
    """Whether limits may apply: a key with limits (its own, or the defaults for an inference key) calling a
    model (not listing models or reading stored answers)."""
    return (key is not None and (not key.limits.is_empty or gw.limiter.applies_defaults(key))
            and (method == "POST" or endpoint == PROXY))


async def admitted(gw: Gateway, key: ApiKey, endpoint: str, protocol: str, scope: dict[str, Any],
                   receive: Receive, send: Send, record: UsageRecord | None, run: Run) -> None:
    """Run the handler (`run`) if the key's limits admit the request; raise the refusal otherwise."""
    limited = gw.limiter.limited(key)
    if limited is None:
        await run(receive, send)
        return
    inspected = await inspect(gw, limited, endpoint, scope, receive)
    try:
        await _admitted(gw, limited, inspected, protocol, send, record, run)
    finally:
        inspected.close()


async def _admitted(gw: Gateway, limited: ApiKey, inspected: Inspected, protocol: str, send: Send,
                    record: UsageRecord | None, run: Run) -> None:
    receive = inspected.receive
    try:
        ticket = await gw.limiter.admit(limited, inspected.deployment, inspected.tokens)
    except Refused as refused:
        gw.usage.metrics.limited.inc((refused.reason,))
        raise refusal(refused, protocol, time.time()) from None
    if ticket is None:
        await run(receive, send)
        return

    started = False

    async def send_with_headers(message: dict[str, Any]) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
            theirs = [(name, value) for name, value in message.get("headers", ())
                      if not name.lower().startswith(RATE_HEADERS)]  # an upstream's own limits are not the key's
            message = {**message, "headers": [*theirs, *rate_headers(ticket.standings, protocol, time.time())]}
        await send(message)

    try:
        await run(receive, send_with_headers)
    except ModelportError as error:  # answered here, so that errors carry the headers too
        if started:
            raise
        await send_error(send_with_headers, error, protocol)
    finally:
        await gw.limiter.settle(ticket, used_tokens(record))


def used_tokens(record: UsageRecord | None) -> int | None:
    """What a request used, from its usage record: its billed tokens; none when it failed before an
    instance answered it well; None (the reservation stands) for an answer that reported no count."""
    if record is None:
        return None
    counted = record.units.input_tokens + record.units.output_tokens
    if counted:
        return counted
    if record.deployment is None or record.status >= 400 or record.upstream_status >= 400:
        return 0
    return None
