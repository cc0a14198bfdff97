"""Reading request bodies (whole, bounded) and decoding JSON ones: the routing fields only, checked, or
whole; every way a body can be malformed is a 400. Multipart bodies are `modelport.multipart`'s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

import msgspec
import orjson

from modelport.errors import BadRequest, InvalidJSON, PayloadTooLarge
from modelport.types import Receive

T = TypeVar("T")


class RoutingFields(msgspec.Struct):
    """The only fields of a JSON body the gateway decodes."""

    model: str | None = None
    stream: bool | None = None


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body exceeds the limit of {limit} bytes.")


async def body_chunks(receive: Receive, limit: int) -> AsyncIterator[bytes]:
    """The request body as it arrives; 413 as soon as it passes `limit`, `ClientGone` on a hang-up."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            yield chunk
        if not message.get("more_body", False):
            return


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, bounded by `limit`."""
    parts = [chunk async for chunk in body_chunks(receive, limit)]
    return parts[0] if len(parts) == 1 else b"".join(parts)


class ClientGone(Exception):
    """The client hung up before its request was read; nothing to answer."""


def decode_struct(body: bytes, type: type[T], what: str = "request body") -> T:
    """The fields `type` names of a JSON body, checked; every way the body can be wrong is a 400.

    The body must be UTF-8 as a whole, including the fields skipped unread (they are relayed as they came,
    and a renaming route re-encodes them). Nesting is bounded by msgspec's recursion guard (the interpreter's
    recursion limit, about 1000 levels, below orjson's fixed 1024), so a body that passes here is within
    every later decoder's depth limit too."""
    try:
        body.decode("utf-8")
        return msgspec.json.decode(body, type=type)
    except UnicodeDecodeError as exc:
        raise InvalidJSON(f"The {what} is not valid UTF-8 (byte {exc.start}).") from None
    except msgspec.ValidationError as exc:
        raise BadRequest(f"Invalid {what}: {exc}.") from None
    except msgspec.DecodeError as exc:
        raise InvalidJSON(f"The {what} is not valid JSON: {exc}.") from None
    except RecursionError:
        raise InvalidJSON(f"The {what} is nested too deeply.") from None


def routing_fields(body: bytes) -> RoutingFields:
    """`model` and `stream` of a JSON object body; 400 for anything that isn't one (see `decode_struct`)."""
    return decode_struct(body, RoutingFields)


def decode_json(body: bytes) -> Any:
    """A JSON body decoded whole (for the routes that translate it); any decode error is a 400."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(f"The request body is not valid JSON: {exc}.") from None


_TOP_LEVEL = msgspec.json.Decoder(dict[str, msgspec.Raw])


def with_fields(body: bytes, changes: dict[str, str]) -> bytes:
    """The JSON object body with some top-level string fields set: the one case where the gateway re-encodes
    a body. Only the top level is re-encoded; every other value goes out byte for byte (numbers past 64 bits
    or a float's range included)."""
    try:
        fields = _TOP_LEVEL.decode(body)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"Invalid request body: {exc}.") from None
    except msgspec.DecodeError as exc:
        raise InvalidJSON(f"The request body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise InvalidJSON("The request body is nested too deeply.") from None
    for name, value in changes.items():
        fields[name] = msgspec.Raw(msgspec.json.encode(value))
    return msgspec.json.encode(fields)


def with_model(body: bytes, model: str) -> bytes:
    """The JSON object body with `model` replaced (see `with_fields`)."""
    return with_fields(body, {"model": model})
