"""Limits at the dispatcher: admit a limited key's request before its handler runs, add the rate-limit
headers to its answer (streams too: they go with the head), and settle it on its usage record once it
ended. An admitted request is never cut off: nothing here touches its body.

To reserve tokens the JSON body is read here (bounded as the handler would) and replayed to the handler.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from modelport.api.responses import send_error
from modelport.errors import ModelportError
from modelport.quota.answers import rate_headers, refusal
from modelport.quota.estimate import estimate
from modelport.quota.state import Refused
from modelport.records import ApiKey
from modelport.relay.body import read_body
from modelport.relay.headers import header
from modelport.types import Receive, Send
from modelport.usage.record import UsageRecord

if TYPE_CHECKING:
    from modelport.gateway import Gateway

Run = Callable[[Receive, Send], Awaitable[None]]
PROXY = "/model/proxy"
RATE_HEADERS = (b"x-ratelimit-", b"anthropic-ratelimit-")


def is_limited(gw: Gateway, key: ApiKey | None, method: str, endpoint: str) -> bool:
    """Whether limits may apply: a key with limits (its own or the defaults) calling a model (not listing
    models or reading stored answers)."""
    return (key is not None and (not key.limits.is_empty or not gw.limiter.defaults.is_empty)
            and (method == "POST" or endpoint == PROXY))


async def admitted(gw: Gateway, key: ApiKey, endpoint: str, protocol: str, scope: dict[str, Any],
                   receive: Receive, send: Send, record: UsageRecord | None, run: Run) -> None:
    """Run the handler (`run`) if the key's limits admit the request; raise the refusal otherwise."""
    limited = gw.limiter.limited(key)
    if limited is None:
        await run(receive, send)
        return
    body = await _json_body(gw, scope, receive)
    if body is not None:
        receive = _replay(body, receive)
    reservation = estimate(endpoint, body)
    route = gw.router.routes.get(reservation.model) if reservation.model else None
    try:
        ticket = await gw.limiter.admit(limited, route.name if route is not None else "", reservation.tokens)
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


async def _json_body(gw: Gateway, scope: dict[str, Any], receive: Receive) -> bytes | None:
    """The body of a JSON POST (bounded by the request limit, as the handler would read it), else None."""
    if scope["method"] != "POST" or scope["path"].startswith(PROXY):  # the proxy streams bodies through
        return None
    content_type = header(scope["headers"], b"content-type")
    if content_type and b"json" not in content_type.lower():
        return None
    return await read_body(receive, gw.settings.max_request_bytes)


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` with the body already read given again first."""
    pending = True

    async def receive_again() -> dict[str, Any]:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again
