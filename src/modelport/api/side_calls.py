"""Calls a handler makes to an instance besides the one it serves the client with (a token count before a
stream, each deployment's model list): kept out of the request's usage record, so that its deployment,
first-byte time and billed units are those of the answer the client gets."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from modelport.usage.record import CURRENT


@contextlib.contextmanager
def unrecorded() -> Iterator[None]:
    """Exchanges opened inside are not observed for the current request's usage record."""
    token = CURRENT.set(None)
    try:
        yield
    finally:
        CURRENT.reset(token)
