"""`GET /api/usage`: the usage ledger's sums, filtered and grouped (the CLI's `modelport usage` reads it).

`from` and `to` take an ISO 8601 time or date (UTC when no zone is given) or an age such as `7d`, `12h`
(that long ago). Grouped by hour, the per-request rows answer (kept for the retention); otherwise the
daily sums, so `from`/`to` count by whole UTC days.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query

from modelport.admin.openapi import error_responses
from modelport.errors import BadRequest
from modelport.store.usage import UsageQuery, UsageStore

_AGE = re.compile(r"^\s*(\d{1,9})\s*([smhdw])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
Group = Literal["day", "hour", "key", "deployment", "endpoint"]


def parse_time(text: str, param: str, now: datetime | None = None) -> datetime:
    """An ISO time or date (UTC unless it says otherwise), or an age (`7d`) before `now`."""
    age = _AGE.match(text)
    if age:
        return (now or datetime.now(UTC)) - timedelta(seconds=int(age.group(1)) * _SECONDS[age.group(2)])
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid time `{text}`: use ISO 8601 (2026-01-31, 2026-01-31T12:00Z) or an age "
                         "like 7d or 12h.", param=param) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def add_usage_routes(app: FastAPI, usage: UsageStore) -> None:
    """Register `GET /api/usage` on the admin app."""

    @app.get("/api/usage", summary="Usage sums (requests, tokens, documents, images, audio), filtered and grouped",
             responses=error_responses(400))
    async def usage_report(
        key: str | None = Query(None, max_length=64, description="Only this key id."),
        deployment: str | None = Query(None, max_length=200),
        endpoint: str | None = Query(None, max_length=64, description="e.g. /v1/chat/completions"),
        since: str | None = Query(None, alias="from", max_length=64, description="ISO time or an age (7d)."),
        until: str | None = Query(None, alias="to", max_length=64, description="ISO time or an age (1d)."),
        group: Annotated[Group | None, Query(description="Group rows by day, hour, key, deployment or endpoint.")]
        = None,
    ) -> dict[str, Any]:
        query = UsageQuery(
            key_id=key, deployment=deployment, endpoint=endpoint,
            since=parse_time(since, "from") if since else None, until=parse_time(until, "to") if until else None,
            group=group,
        )
        rows = await asyncio.to_thread(usage.report, query)
        return {"group": group, "from": _iso(query.since), "to": _iso(query.until), "data": rows}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
