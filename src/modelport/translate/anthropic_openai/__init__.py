"""Anthropic Messages (client side) ⇄ OpenAI Chat Completions (backend side), pure translation, no I/O.

- :func:`chat_request_from_messages`: validate a Messages body, build the chat request
  (:func:`decode_messages_request` validates only, for callers that want the decoded request too).
- :func:`messages_response_from_chat`: a chat completion → an Anthropic message
  (:func:`chat_completion_from_json` parses and checks the backend's answer first).
- :class:`MessagesStream`: chat completion chunks → Anthropic SSE events (state object, small pure steps);
  :func:`encode_event` frames one event.
"""

from .events import Event, encode_event
from .request import chat_request_from_messages, decode_messages_request
from .response import messages_response_from_chat
from .shapes import chat_completion_from_json
from .stream import MessagesStream

__all__ = [
    "Event",
    "MessagesStream",
    "chat_completion_from_json",
    "chat_request_from_messages",
    "decode_messages_request",
    "encode_event",
    "messages_response_from_chat",
]
