"""OpenAI ``chat.completion.chunk`` stream → Responses streaming events, as a state object.

:class:`ResponsesStream` takes the ``data`` of backend events and returns ``(event type, data)`` tuples (each
``data`` with its ``type`` and a ``sequence_number``: 0, 1, 2... in the order returned). It does no I/O.

Order: ``response.created``, ``response.in_progress``; per output item ``response.output_item.added`` →
(``response.content_part.added`` → text deltas → ``….done`` → ``response.content_part.done``, or
``response.function_call_arguments.delta``… → ``….done``) → ``response.output_item.done``; then
``response.completed`` (or ``response.incomplete`` when the backend stopped at ``max_output_tokens`` or a
content filter) carrying the whole response with its usage. Nothing follows it, nor the ``error`` and
``response.failed`` pair that ends a failed stream.

Items: reasoning deltas form a ``reasoning`` item (``response.reasoning_text.*`` events), content deltas a
``message`` item, each backend tool call (by ``index``) a ``function_call`` item whose arguments stream as
they come (events name their ``output_index``: late fragments need no buffering). A switch between reasoning
and text, or a tool call starting, completes the open text item. Whitespace-only text outside a message is
held back (dropped when tools were called). Item ids name the response and index (:meth:`Turn.item_id`).

Failures are raised, never turned into a finished response: a chunk not JSON or not shaped like a chunk, or
a stream ending before a ``finish_reason`` or ``[DONE]``, is a ``BadUpstreamResponse``; an ``{"error": ...}``
chunk an ``UpstreamUnreachable``. The caller answers with the error's status if nothing went out yet, else
with :meth:`ResponsesStream.fail` (which also returns the events made before the failure).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelport.errors import BadUpstreamResponse, UpstreamUnreachable
from modelport.translate.anthropic_openai.response import reasoning_text
from modelport.translate.anthropic_openai.shapes import check_chunk, error_message, parse_json

from .objects import (
    Turn,
    function_call_item,
    message_item,
    new_id,
    reasoning_item,
    response_object,
    status_of,
    text_part,
    usage_from_chat,
)

Event = tuple[str, dict[str, Any]]
MAX_CALLS = 1024  # tool calls in one response
MAX_OUTPUT_CHARS = 32 * 1024 * 1024  # text and arguments kept for the final response
_TEXT_EVENTS = {"message": "response.output_text", "reasoning": "response.reasoning_text"}


@dataclass
class _Item:
    """An output item being streamed."""

    index: int
    id: str
    kind: str  # "message" | "reasoning" | "function_call"
    parts: list[str] = field(default_factory=list)  # text, or arguments
    call_id: str = ""
    name: str = ""
    final: dict[str, Any] | None = None  # the item as completed


@dataclass
class _Call:
    """A backend tool call being assembled (its item opens once its name is known)."""

    id: str | None = None
    name: str | None = None
    pending: list[str] = field(default_factory=list)
    item: _Item | None = None


class ResponsesStream:
    """Translation state for one streamed response; ``start``/``feed``/``feed_data``/``finish``/``fail``
    return the events to send (or raise, see the module's docstring). ``final`` is the finished response."""

    def __init__(self, turn: Turn) -> None:
        self._turn = turn
        self._sequence = 0
        self._out: list[Event] = []
        self._started = False
        self._done = False
        self._ended = False  # the backend sent [DONE]
        self._items: list[_Item] = []
        self._open: _Item | None = None  # the open message or reasoning item
        self._calls: dict[int, _Call] = {}
        self._whitespace = ""
        self._size = 0  # characters of text and arguments kept
        self._finish_reason: str | None = None
        self._usage: Mapping[str, Any] | None = None
        self.final: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        """True once the response completed or failed."""
        return self._done

    def start(self) -> list[Event]:
        """``response.created`` and ``response.in_progress`` the first time, ``[]`` after."""
        self._ensure_started()
        return self._take()

    def feed_data(self, data: bytes) -> list[Event]:
        """Events for the ``data`` of one backend event: a JSON chunk, or ``[DONE]`` that finishes."""
        data = data.strip()
        if self._done or not data:
            return []
        self._ended = data == b"[DONE]"
        return self.finish() if self._ended else self.feed(parse_json(data, "stream event"))

    def feed(self, chunk: Any) -> list[Event]:
        """Events for one parsed backend chunk; raises on an ``{"error": ...}`` chunk or a malformed one."""
        if self._done:
            return []
        if isinstance(chunk, Mapping) and chunk.get("error") is not None:
            raise UpstreamUnreachable(f"The instance reported an error: {error_message(chunk['error'])}")
        check_chunk(chunk)
        self._ensure_started()
        if chunk.get("usage"):
            self._usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if (choice.get("index") or 0) == 0:
                self._feed_choice(choice)
        return self._take()

    def finish(self) -> list[Event]:
        """The backend's stream ended: complete the items, then ``response.completed``; ``[]`` if done.
        Raises when the backend never said it finished (no ``finish_reason``, no ``[DONE]``)."""
        if self._done:
            return []
        if self._finish_reason is None and not self._ended:
            raise BadUpstreamResponse("The instance's stream ended before it finished (no finish_reason, no [DONE]).")
        self._ensure_started()
        status, reason = status_of(self._finish_reason)
        self._close_all("incomplete" if status == "incomplete" else "completed")
        output = [item.final for item in self._items if item.final is not None]
        self.final = response_object(self._turn, status=status, output=output, usage=usage_from_chat(self._usage),
                                     incomplete_reason=reason)
        self._emit("response.completed" if status == "completed" else "response.incomplete", response=self.final)
        self._done = True
        return self._take()

    def fail(self, message: str, *, code: str = "server_error") -> list[Event]:
        """The events made before a failure, then ``error`` and ``response.failed`` ending the stream; ``[]``
        if done."""
        if self._done:
            return []
        self._ensure_started()
        self._done = True
        output = [item.final for item in self._items if item.final is not None]
        self._emit("error", code=code, message=message, param=None)
        failed = response_object(self._turn, status="failed", output=output, error={"code": code, "message": message})
        self._emit("response.failed", response=failed)
        return self._take()

    # --- steps -------------------------------------------------------------------------------------

    def _emit(self, kind: str, **fields: Any) -> None:
        self._out.append((kind, {"type": kind, "sequence_number": self._sequence, **fields}))
        self._sequence += 1

    def _take(self) -> list[Event]:
        events, self._out = self._out, []
        return events

    def _ensure_started(self) -> None:
        if self._started:
            return
        self._started = True
        snapshot = response_object(self._turn, status="in_progress", output=[])
        self._emit("response.created", response=snapshot)
        self._emit("response.in_progress", response=snapshot)

    def _feed_choice(self, choice: Mapping[str, Any]) -> None:
        delta = choice.get("delta") or {}
        self._on_text("reasoning", reasoning_text(delta))
        content = delta.get("content")
        self._on_text("message", content if isinstance(content, str) else "")
        for fragment in delta.get("tool_calls") or []:
            self._on_fragment(fragment)
        if choice.get("finish_reason"):
            self._finish_reason = str(choice["finish_reason"])

    def _on_text(self, kind: str, text: str) -> None:
        if not text:
            return
        if kind == "message" and (self._open is None or self._open.kind != "message"):
            if not text.strip():
                self._whitespace += text
                return
            text, self._whitespace = self._whitespace + text, ""
        if self._open is None or self._open.kind != kind:
            self._close_open("completed")
            self._open = self._add_item(kind)
        self._text_delta(self._open, text)

    def _text_delta(self, item: _Item, text: str) -> None:
        self._keep(item, text)
        self._emit(f"{_TEXT_EVENTS[item.kind]}.delta", item_id=item.id, output_index=item.index, content_index=0,
                   delta=text, **({"logprobs": []} if item.kind == "message" else {}))

    def _add_item(self, kind: str) -> _Item:
        item = _Item(len(self._items), self._turn.item_id("msg" if kind == "message" else "rs", len(self._items)), kind)
        self._items.append(item)
        if kind == "message":
            skeleton, part = {**message_item(item.id, "", "in_progress"), "content": []}, text_part("")
        else:
            skeleton = {**reasoning_item(item.id, "", "in_progress"), "content": []}
            part = {"type": "reasoning_text", "text": ""}
        self._emit("response.output_item.added", output_index=item.index, item=skeleton)
        self._emit("response.content_part.added", item_id=item.id, output_index=item.index, content_index=0,
                   part=part)
        return item

    def _on_fragment(self, fragment: Mapping[str, Any]) -> None:
        key = self._call_key(fragment)
        if key not in self._calls and len(self._calls) >= MAX_CALLS:
            raise BadUpstreamResponse(f"The instance's answer has more than {MAX_CALLS} tool calls.")
        call = self._calls.setdefault(key, _Call())
        function = fragment.get("function") or {}
        call.id = call.id or fragment.get("id")
        call.name = call.name or function.get("name")
        arguments = function.get("arguments")
        arguments = arguments if isinstance(arguments, str) else ""
        if call.item is None:
            if arguments:
                call.pending.append(arguments)
            if call.name:
                self._open_call(call)
        elif arguments:
            self._arguments(call.item, arguments)

    def _keep(self, item: _Item, text: str) -> None:
        self._size += len(text)
        if self._size > MAX_OUTPUT_CHARS:
            raise BadUpstreamResponse(f"The instance's answer is longer than {MAX_OUTPUT_CHARS} characters.")
        item.parts.append(text)

    def _call_key(self, fragment: Mapping[str, Any]) -> int:
        index = fragment.get("index")
        if isinstance(index, int):
            return index
        for key, call in self._calls.items():
            if fragment.get("id") and call.id == fragment.get("id"):
                return key
        if fragment.get("id") or not self._calls:
            return len(self._calls)
        return max(self._calls)

    def _open_call(self, call: _Call) -> None:
        self._close_open("completed")
        index = len(self._items)
        item = _Item(index, self._turn.item_id("fc", index), "function_call", call_id=str(call.id or new_id("call")),
                     name=str(call.name or ""))
        self._items.append(item)
        call.item = item
        self._emit("response.output_item.added", output_index=item.index,
                   item=function_call_item(item.id, item.call_id, item.name, "", "in_progress"))
        if call.pending:
            self._arguments(item, "".join(call.pending))
            call.pending.clear()

    def _arguments(self, item: _Item, delta: str) -> None:
        self._keep(item, delta)
        self._emit("response.function_call_arguments.delta", item_id=item.id, output_index=item.index, delta=delta)

    def _close_open(self, status: str) -> None:
        item, self._open = self._open, None
        if item is None:
            return
        text = "".join(item.parts)
        base = _TEXT_EVENTS[item.kind]
        extra: dict[str, Any] = {"logprobs": []} if item.kind == "message" else {}
        self._emit(f"{base}.done", item_id=item.id, output_index=item.index, content_index=0, text=text, **extra)
        part = text_part(text) if item.kind == "message" else {"type": "reasoning_text", "text": text}
        self._emit("response.content_part.done", item_id=item.id, output_index=item.index, content_index=0, part=part)
        builder = message_item if item.kind == "message" else reasoning_item
        item.final = builder(item.id, text, status)
        self._emit("response.output_item.done", output_index=item.index, item=item.final)

    def _close_all(self, status: str) -> None:
        if self._whitespace and not self._calls and not any(item.kind == "message" for item in self._items):
            self._close_open("completed")  # a reply of only whitespace is still a reply
            self._open = self._add_item("message")
            self._text_delta(self._open, self._whitespace)
        self._close_open(status)
        for call in self._calls.values():
            if call.item is None:
                self._open_call(call)
            item = call.item
            if item is not None and item.final is None:
                arguments = "".join(item.parts)
                self._emit("response.function_call_arguments.done", item_id=item.id, output_index=item.index,
                           arguments=arguments, name=item.name)
                item.final = function_call_item(item.id, item.call_id, item.name, arguments, "completed")
                self._emit("response.output_item.done", output_index=item.index, item=item.final)
