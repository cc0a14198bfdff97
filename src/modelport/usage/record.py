"""`UsageRecord`: what one request cost, filled by the dispatcher (key, endpoint, status, bytes, timing)
and by the exchange observer (deployment, instance, upstream first byte, billed units).

The two are linked by `CURRENT`, a context variable owned by this module: the dispatcher sets it in the
request's task and the relay's observer factory, which gets only `(route, upstream request)`, reads it in
the same task. That needs no change to the handlers or to the observer protocol, and no globals: each
request's task has its own context, so concurrent requests never see each other's record.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from modelport.types import Send


@dataclass(slots=True)
class Units:
    """What an endpoint bills. Zero where the endpoint does not bill that unit or the answer did not say."""

    input_tokens: int = 0  # prompt tokens (chat, completions, messages), embedding input, rerank tokens
    output_tokens: int = 0  # completion tokens
    documents: int = 0  # rerank documents
    images: int = 0  # images answered
    characters: int = 0  # speech input characters
    audio_seconds: float = 0.0  # transcription and translation input

    def add(self, other: Units) -> None:
        """Add `other` (a second exchange of the same request) to these units."""
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.documents += other.documents
        self.images += other.images
        self.characters += other.characters
        self.audio_seconds += other.audio_seconds


class RequestTrace(Protocol):
    """A request's span (`usage.tracing.RequestSpan`), as the record's users see it."""

    instance_url: str | None
    requested_model: str | None

    def upstream_headers(self) -> dict[bytes, bytes]: ...
    def end(self, record: UsageRecord) -> None: ...


@dataclass(slots=True)
class UsageRecord:
    """One request. Times: `started_at` wall clock (unix seconds), the others `time.perf_counter()`."""

    endpoint: str  # the route's path in the table (`/v1/chat/completions`, `/model/proxy`, `/api`)
    method: str
    started_at: float = field(default_factory=time.time)
    t0: float = field(default_factory=time.perf_counter)
    id: str = ""  # given by the ledger when queued: unique across processes and gateways
    key_id: str | None = None
    deployment: str | None = None
    instance: str | None = None
    status: int = 0
    bytes_out: int = 0
    complete: bool = False  # the client got the whole response
    client_gone: bool = False  # the client hung up first (the exchange was cancelled, or the body read failed)
    streamed: bool = False  # the instance answered with an event stream
    outcome: str = ""  # how the (last) upstream exchange ended; "" when there was none
    upstream_status: int = 0  # the (last) instance's status
    first_byte: float | None = None  # perf_counter of the instance's first body byte (or head if none)
    upstream_seconds: float = 0.0  # time inside upstream exchanges
    ended: float = 0.0
    units: Units = field(default_factory=Units)
    trace: RequestTrace | None = None  # its span, when traces are on (`usage.tracing.RequestSpan`)

    def sent(self, message: dict[str, Any]) -> None:
        """The dispatcher sent `message` to the client."""
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.bytes_out += len(message.get("body", b""))
            if not message.get("more_body", False):
                self.complete = True

    def watching(self, send: Send) -> Send:
        """`send` that tells this record what it sends (the dispatcher's own wrapper does it for the rest)."""

        async def recorded_send(message: dict[str, Any]) -> None:
            self.sent(message)
            await send(message)

        return recorded_send

    @property
    def duration(self) -> float:
        return self.ended - self.t0

    @property
    def ttfb(self) -> float | None:
        """Seconds from the request's start to the instance's first byte."""
        return None if self.first_byte is None else self.first_byte - self.t0

    @property
    def aborted(self) -> bool:
        """A response the client did not get whole: it hung up, or the stream was cut."""
        return self.client_gone or (self.status != 0 and not self.complete)

    @property
    def final_outcome(self) -> str:
        """One word for the log and the ledger."""
        if self.client_gone:
            return "client_gone"
        if self.outcome == "abandoned" and self.streamed:  # the relay ended the stream before its end
            return "aborted"
        if self.outcome not in ("", "completed", "abandoned"):  # abandoned: the caller had what it needed
            return self.outcome
        if self.status == 0 or not self.complete:
            return "aborted"
        return "completed" if self.status < 400 else "error"


CURRENT: ContextVar[UsageRecord | None] = ContextVar("modelport_usage_record", default=None)
