"""A backend's "the prompt does not fit the context" answer, recognised and worded for each client API.

Backends say it in several ways; each is read here into one :class:`ContextOverflow`:

- OpenAI's shape (our built-in workers): ``{"error": {"code": "context_length_exceeded", "message": "This
  model's maximum context length is M tokens. However, your prompt has N tokens ..."}}``;
- vLLM: ``This model's maximum context length is M tokens. However, your request has N input tokens ...``
  (older: ``However, you requested T tokens (N in the messages, C in the completion)``), and, when only the
  prompt plus ``max_tokens`` is too much: ``'max_tokens' or 'max_completion_tokens' is too large: C. This
  model's maximum context length is M tokens and your request has N input tokens (C > M - N)``.

Anthropic's clients (Claude Code) act on Anthropic's own wording: ``prompt is too long: N tokens > M maximum``
(compact the conversation) and ``input length and `max_tokens` exceed context limit: N + C > M, decrease
input length or `max_tokens` and try again`` (lower ``max_tokens``). OpenAI's clients (litellm, the Codex
CLI) act on the code ``context_length_exceeded``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from modelport.errors import BadRequest

CODE = "context_length_exceeded"
MAX_ERROR_BYTES = 64 * 1024  # an error body larger than this is not read for counts

_MAXIMUM = re.compile(r"maximum context length is (\d+) tokens")
_INPUT = re.compile(r"(?:your request has|your prompt has|your messages resulted in) (\d+)(?: input)? tokens")
_REQUESTED = re.compile(r"you requested (\d+) tokens \((\d+) in the messages, (\d+) in the completion\)")
_TOO_LARGE = re.compile(r"'max_tokens' or 'max_completion_tokens' is too large: (\d+)")


@dataclass(frozen=True, slots=True)
class ContextOverflow:
    """The prompt's tokens, the context's size and, when the prompt fits but not with the tokens asked
    for, how many completion tokens were asked for."""

    prompt_tokens: int
    max_context: int
    completion_tokens: int | None = None

    @property
    def prompt_fits(self) -> bool:
        """The prompt alone fits; only the prompt plus `max_tokens` does not."""
        return self.completion_tokens is not None and self.prompt_tokens < self.max_context

    def anthropic_error(self) -> BadRequest:
        """Anthropic's 400 with the wording its clients recognise."""
        if self.prompt_fits:
            return BadRequest(
                f"input length and `max_tokens` exceed context limit: {self.prompt_tokens} +"
                f" {self.completion_tokens} > {self.max_context}, decrease input length or `max_tokens` and try"
                " again"
            )
        return BadRequest(f"prompt is too long: {self.prompt_tokens} tokens > {self.max_context} maximum")

    def openai_error(self, param: str = "messages") -> BadRequest:
        """OpenAI's 400: `invalid_request_error`, `context_length_exceeded`, the counts in the message."""
        asked = f" ({self.completion_tokens} of them asked for the completion)" if self.prompt_fits else ""
        message = (
            f"This model's maximum context length is {self.max_context} tokens. However, your request has"
            f" {self.prompt_tokens} input tokens{asked}. Please reduce the length of the input."
        )
        return BadRequest(message, param=param, code=CODE)


def parse_overflow(message: str) -> ContextOverflow | None:
    """The counts in a context-overflow message (our workers' or vLLM's wording), None for any other."""
    maximum = _MAXIMUM.search(message)
    if maximum is None:
        return None
    max_context = int(maximum.group(1))
    too_large = _TOO_LARGE.search(message)
    requested = _REQUESTED.search(message)
    if requested is not None:
        return ContextOverflow(int(requested.group(2)), max_context, int(requested.group(3)))
    found = _INPUT.search(message)
    if found is None:
        return None
    completion = int(too_large.group(1)) if too_large is not None else None
    return ContextOverflow(int(found.group(1)), max_context, completion)


def overflow_from_error(status: int, body: bytes) -> ContextOverflow | None:
    """The overflow an instance's error answer (status, body) reports, None when it reports another."""
    if status not in (400, 413, 422) or len(body) > MAX_ERROR_BYTES:
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        message = error.get("message")
    elif isinstance(data, dict):  # some servers answer {"message": ...} or {"detail": ...}
        message = data.get("message") or data.get("detail")
    else:
        message = None
    return parse_overflow(message) if isinstance(message, str) else None
