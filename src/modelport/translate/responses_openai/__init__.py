"""OpenAI Responses (client side) ⇄ OpenAI Chat Completions (backend side), pure translation, no I/O.

- :func:`decode_responses_request` validates a Responses body; :func:`chat_request_from_responses` builds the
  chat request continuing a stored conversation (:func:`input_items` / :func:`items_from_json`).
- :func:`response_from_chat`: a chat completion → a ``response`` object (``chat_completion_from_json`` of
  ``anthropic_openai.shapes`` parses and checks the backend's answer first).
- :class:`ResponsesStream`: chat completion chunks → Responses streaming events (state object, small pure
  steps); :func:`encode_event` frames one event.
- :func:`conversation_items` / :func:`input_items_page`: the stored conversation and its listing;
  :func:`referenced_responses` / :func:`resolve_references` put stored output items for ``item_reference``.
"""

from modelport.translate.anthropic_openai.events import encode_event

from .history import conversation_items, input_items_page, referenced_responses, resolve_references
from .objects import Turn, new_turn
from .request import chat_request_from_responses, decode_responses_request, input_items, items_from_json
from .response import response_from_chat
from .stream import Event, ResponsesStream

__all__ = [
    "Event",
    "ResponsesStream",
    "Turn",
    "chat_request_from_responses",
    "conversation_items",
    "decode_responses_request",
    "encode_event",
    "input_items",
    "input_items_page",
    "items_from_json",
    "new_turn",
    "referenced_responses",
    "resolve_references",
    "response_from_chat",
]
