"""Identifier mapping between Anthropic and OpenAI-compatible backends.

Tool ids round-trip: a backend tool call ``call_X`` is shown to the client as ``toolu_call_X``, and when the
client sends it back in history it becomes ``call_X`` again, so the backend sees the ids it produced
(some chat templates, e.g. Mistral's, insist on their own id format).
"""

from __future__ import annotations

import uuid

TOOL_PREFIX = "toolu_"
MESSAGE_PREFIX = "msg_"


def anthropic_tool_id(call_id: str | None) -> str:
    """Client-facing tool_use id for a backend tool call id (random when the backend gave none)."""
    if not call_id:
        return TOOL_PREFIX + uuid.uuid4().hex[:24]
    return call_id if call_id.startswith(TOOL_PREFIX) else TOOL_PREFIX + call_id


def backend_tool_id(tool_use_id: str) -> str:
    """Backend tool_call id for a client tool_use id (inverse of :func:`anthropic_tool_id`)."""
    stripped = tool_use_id.removeprefix(TOOL_PREFIX)
    return stripped or tool_use_id


def message_id(chat_id: str | None) -> str:
    """Anthropic message id derived from a chat completion id (random when there is none)."""
    if not chat_id:
        return MESSAGE_PREFIX + uuid.uuid4().hex[:24]
    if chat_id.startswith(MESSAGE_PREFIX):
        return chat_id
    return MESSAGE_PREFIX + chat_id.removeprefix("chatcmpl-")
