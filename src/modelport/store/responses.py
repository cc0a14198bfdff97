"""The `responses` table: stored Responses API answers (`store: true`), each visible only to its key.

A row holds the `response` object as answered and the `conversation` needed to continue it with
`previous_response_id` (the input items it followed, its own input and its output items), both as JSON
text, until `expires_at`. Expired rows are never returned; each write also deletes up to `PURGE_BATCH`
expired rows (through the index on `expires_at`), so the table does not grow without bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from modelport.store.database import read_transaction, write_transaction
from modelport.store.schema import responses

PURGE_BATCH = 500
MAX_STORED_BYTES = 64 * 1024 * 1024  # the response and its conversation together, as JSON


@dataclass(frozen=True)
class StoredResponse:
    """One stored response: its owner's key id, the `response` object and the conversation items."""

    id: str
    key_id: str
    response: dict[str, Any]
    conversation: list[dict[str, Any]]
    created_at: datetime
    expires_at: datetime


def insert(connection: Connection, stored: StoredResponse) -> None:
    """Store a response (replacing nothing: ids are fresh); ValueError when it is over `MAX_STORED_BYTES`."""
    response, conversation = orjson.dumps(stored.response), orjson.dumps(stored.conversation)
    if len(response) + len(conversation) > MAX_STORED_BYTES:
        raise ValueError(f"response {stored.id} is over {MAX_STORED_BYTES} bytes")
    connection.execute(responses.insert().values(
        id=stored.id, key_id=stored.key_id, response=response.decode(), conversation=conversation.decode(),
        created_at=stored.created_at, expires_at=stored.expires_at))


def select(connection: Connection, response_id: str, key_id: str, now: datetime) -> StoredResponse | None:
    """The response with this id made with this key, unless it has expired; else None."""
    row = connection.execute(responses.select().where(
        responses.c.id == response_id, responses.c.key_id == key_id, responses.c.expires_at > now)).first()
    if row is None:
        return None
    return StoredResponse(id=row.id, key_id=row.key_id, response=orjson.loads(row.response),
                          conversation=orjson.loads(row.conversation), created_at=row.created_at,
                          expires_at=row.expires_at)


def delete(connection: Connection, response_id: str, key_id: str) -> bool:
    """Delete the response with this id made with this key; False when there is none."""
    result = connection.execute(responses.delete().where(
        responses.c.id == response_id, responses.c.key_id == key_id))
    return bool(result.rowcount)


def purge(connection: Connection, now: datetime, limit: int = PURGE_BATCH) -> int:
    """Delete up to `limit` expired responses; how many went."""
    expired = sa.select(responses.c.id).where(responses.c.expires_at <= now).limit(limit)
    ids = [row.id for row in connection.execute(expired)]
    if not ids:
        return 0
    connection.execute(responses.delete().where(responses.c.id.in_(ids)))
    return len(ids)


class ResponseStore:
    """The responses repository on an engine, one short transaction per call (thread-safe)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def put(self, stored: StoredResponse, now: datetime) -> None:
        """Store `stored` and purge a batch of expired responses."""
        with write_transaction(self._engine) as connection:
            purge(connection, now)
            insert(connection, stored)

    def get(self, response_id: str, key_id: str, now: datetime) -> StoredResponse | None:
        """The live response `response_id` of `key_id`, or None."""
        with read_transaction(self._engine) as connection:
            return select(connection, response_id, key_id, now)

    def delete(self, response_id: str, key_id: str) -> bool:
        """Delete the response `response_id` of `key_id`; False if there was none."""
        with write_transaction(self._engine) as connection:
            return delete(connection, response_id, key_id)

    def purge(self, now: datetime) -> int:
        """Delete a batch of expired responses; how many went."""
        with write_transaction(self._engine) as connection:
            return purge(connection, now)
