"""How limits answer: the rate-limit headers of each protocol, and refusals as errors in its shape.

OpenAI routes get `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (resets as `1s`, `6m0s`),
`/v1/messages` gets `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}` (resets in RFC 3339).
Where a key and a deployment through it both limit a kind, the one with less left is shown. A reset is
when the oldest request in the window leaves it: the next moment anything more is free.
"""

from __future__ import annotations

import math

from modelport.errors import RateLimited
from modelport.quota.periods import openai_duration, rfc3339
from modelport.quota.state import Refused, Standing

Headers = list[tuple[bytes, bytes]]


def rate_headers(standings: tuple[Standing, ...], protocol: str, now: float) -> Headers:
    """The rate-limit headers for an answer of `protocol` ("openai" or "anthropic")."""
    headers: Headers = []
    requests = [(s.limits.rpm, s.requests, s.requests_free_at) for s in standings if s.limits.rpm is not None]
    tokens = [(s.limits.tpm, s.tokens, s.tokens_free_at) for s in standings if s.limits.tpm is not None]
    for kind, found in (("requests", requests), ("tokens", tokens)):
        if not found:
            continue
        limit, used, free_at = min(found, key=lambda item: (item[0] or 0) - item[1])
        remaining = max(0, (limit or 0) - used)
        reset = now if free_at is None else max(now, free_at)
        if protocol == "anthropic":
            prefix = f"anthropic-ratelimit-{kind}-"
            headers += [((prefix + "limit").encode(), str(limit).encode()),
                        ((prefix + "remaining").encode(), str(remaining).encode()),
                        ((prefix + "reset").encode(), rfc3339(math.ceil(reset)).encode())]
        else:
            headers += [(f"x-ratelimit-limit-{kind}".encode(), str(limit).encode()),
                        (f"x-ratelimit-remaining-{kind}".encode(), str(remaining).encode()),
                        (f"x-ratelimit-reset-{kind}".encode(), openai_duration(reset - now).encode())]
    return headers


class LimitReached(RateLimited):
    """429 for a request over a rate, token or concurrency limit, with `Retry-After` the real wait."""

    def __init__(self, refused: Refused, protocol: str, now: float) -> None:
        retry = None if refused.retry_after is None else max(1, math.ceil(refused.retry_after))
        super().__init__(refused.message, code=self.code, retry_after=retry)
        self.reason = refused.reason
        self._headers = rate_headers(refused.standings, protocol, now)

    def headers(self) -> Headers:
        return super().headers() + self._headers


class BudgetExhausted(LimitReached):
    """429 `insufficient_quota`: a token budget is spent (its message says which, and when it renews)."""

    openai_type = "insufficient_quota"
    code = "insufficient_quota"


def refusal(refused: Refused, protocol: str, now: float) -> LimitReached:
    """The error to answer `refused` with, in `protocol`'s shape."""
    kind = BudgetExhausted if refused.reason == "budget" else LimitReached
    return kind(refused, protocol, now)
