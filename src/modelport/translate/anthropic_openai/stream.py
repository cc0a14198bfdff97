"""OpenAI ``chat.completion.chunk`` stream → Anthropic Messages SSE events, as a state object.

:class:`MessagesStream` takes parsed chunk dicts and returns ``(event name, data)`` tuples; it does no I/O.
The caller's async generator reads chunks, feeds them, and writes :func:`encode_event` bytes.

Event order follows Anthropic: ``message_start``; per content block ``content_block_start`` → deltas →
``content_block_stop`` (only one block open at a time; a thinking block gets an empty ``signature_delta``
before it stops); then ``message_delta`` (stop_reason, stop_sequence, usage) and ``message_stop``. Nothing is
emitted after ``message_stop`` or after an ``error`` event.

Blocks: reasoning deltas (``reasoning_content``/``reasoning``) form thinking blocks, ``content`` deltas text
blocks, and each backend tool call (by its ``index``) one tool_use block. Switching between reasoning and text
closes the open block and opens a new one.

Tool calls and interleaving: the open block streams live. Anthropic blocks cannot interleave, and a backend
tool call's arguments may keep arriving after another call has started, so once a tool_use block is open it
stays open until the backend finishes; anything else arriving meanwhile (other tool calls' fragments, text,
reasoning) is buffered and emitted, in first-seen order, when the backend finishes (``finish_reason`` or
:meth:`MessagesStream.finish`). A buffered tool call goes out as start, one ``input_json_delta`` with all its
arguments, stop. Every tool block's concatenated ``partial_json`` is exactly the backend's arguments text.
Whitespace-only text buffered after a tool call is dropped (some tool parsers emit a trailing newline).
Text is scanned for the client's stop sequences (``stops``): the message ends at the first one seen.
In practice engines send tool calls one after another, so only the first call is held back from nothing.

Failures are raised, never turned into a finished message: a chunk that is not JSON or not shaped like a
``chat.completion.chunk`` is a ``BadUpstreamResponse``, an ``{"error": ...}`` chunk an ``UpstreamUnreachable``
with its message, and so is a stream that ends before a ``finish_reason`` or ``[DONE]`` (no invented
``end_turn``). The caller answers with the error's status if nothing went out yet, else with :meth:`fail`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelport.errors import BadUpstreamResponse, UpstreamUnreachable

from .events import Event, block_delta, json_delta, skeleton, text_delta
from .ids import anthropic_tool_id
from .ids import message_id as derive_message_id
from .response import reasoning_text, stop_reason, usage_from_chat
from .shapes import check_chunk, error_message, parse_json
from .stops import StopScanner


@dataclass
class _ToolCall:
    """A backend tool call being assembled."""

    id: str | None = None
    name: str | None = None
    pending: list[str] = field(default_factory=list)  # argument fragments not yet emitted
    block: int | None = None  # our content block index once started
    deferred: bool = False  # queued behind the open tool block


@dataclass
class _OpenBlock:
    """The content block currently open: its kind, index, and tool key for tool_use blocks."""

    kind: str  # "text" | "thinking" | "tool_use"
    index: int
    tool_key: int | None = None


class MessagesStream:
    """Translation state for one streamed response; ``start``/``feed``/``feed_data``/``finish``/``fail`` return
    events (or raise, see the module's docstring)."""

    def __init__(
        self,
        *,
        model: str,
        message_id: str | None = None,
        stop_sequences: Sequence[str] = (),
        input_tokens: int = 0,
    ) -> None:
        self._model = model
        self._message_id = message_id
        self._stop_sequences = tuple(stop_sequences)
        self._stops = StopScanner(self._stop_sequences)
        self._input_tokens = input_tokens
        self._started = False
        self._done = False
        self._ended = False  # the backend sent [DONE]
        self._next_index = 0
        self._open: _OpenBlock | None = None
        self._tools: dict[int, _ToolCall] = {}
        self._deferred: list[tuple[str, Any]] = []  # ("text"|"thinking", str) or ("tool_use", key)
        self._finish_reason: str | None = None
        self._matched_stop: Any = None
        self._usage: Mapping[str, Any] | None = None
        self._pieces = 0  # content and tool-argument deltas received: ~1 token each (llama.cpp, vLLM)

    @property
    def done(self) -> bool:
        """True once ``message_stop`` or an ``error`` event was emitted."""
        return self._done

    def start(self) -> list[Event]:
        """``[message_start]`` the first time, ``[]`` after."""
        return self._ensure_started(None)

    def count_input(self, tokens: int) -> None:
        """The input tokens for ``message_start``, when they are known before it goes out."""
        self._input_tokens = tokens

    def ping(self) -> Event:
        """A keep-alive ``ping`` event (callers stop pinging once :attr:`done`)."""
        return ("ping", {"type": "ping"})

    def feed_data(self, data: bytes) -> list[Event]:
        """Events for the ``data`` of one backend event: a JSON chunk, or ``[DONE]`` that finishes."""
        data = data.strip()
        if self._done or not data:
            return []
        if data == b"[DONE]":
            self._ended = True
            return self.finish()
        return self.feed(parse_json(data, "stream event"))

    def feed(self, chunk: Any) -> list[Event]:
        """Events for one parsed backend chunk; raises on an ``{"error": ...}`` chunk or a malformed one."""
        if self._done:
            return []
        if isinstance(chunk, Mapping) and chunk.get("error") is not None:
            raise UpstreamUnreachable(f"The instance reported an error: {error_message(chunk['error'])}")
        checked = check_chunk(chunk)
        if chunk.get("usage"):
            self._usage = chunk["usage"]
        events = self._ensure_started(checked.get("id"))
        for choice in chunk.get("choices") or []:
            if (choice.get("index") or 0) == 0:
                events.extend(self._feed_choice(choice))
        return events

    def finish(self) -> list[Event]:
        """The backend's stream ended: close blocks, then ``message_delta`` and ``message_stop``; ``[]`` if
        already done. Raises when the backend never said it finished (no ``finish_reason``, no ``[DONE]``)."""
        if self._done:
            return []
        if self._finish_reason is None and not self._ended:
            raise BadUpstreamResponse("The instance's stream ended before it finished (no finish_reason, no [DONE]).")
        events = self._ensure_started(None) + self._on_text("text", self._stops.flush()) + self._flush()
        has_tools = any(call.block is not None for call in self._tools.values())
        reason, sequence = stop_reason(
            self._finish_reason, self._matched_stop, self._stop_sequences, has_tools
        )
        # No usage yet when the translator ends the stream itself (a stop sequence found in the text, before
        # the backend's final usage chunk): the deltas received stand for the tokens
        usage: dict[str, Any] = {"output_tokens": self._pieces}
        if self._usage is not None:
            usage = dict(usage_from_chat(self._usage))
            usage = {"output_tokens": usage.pop("output_tokens"), **usage}
        delta = {"stop_reason": reason, "stop_sequence": sequence}
        events.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
        events.append(("message_stop", {"type": "message_stop"}))
        self._done = True
        return events

    def fail(self, message: str, *, error_type: str = "api_error") -> list[Event]:
        """An ``error`` event (``api_error``, ``overloaded_error``…) ending the stream; ``[]`` if done."""
        if self._done:
            return []
        self._done = True
        return [("error", {"type": "error", "error": {"type": error_type, "message": message}})]

    # --- steps -------------------------------------------------------------------------------------

    def _ensure_started(self, chunk_id: str | None) -> list[Event]:
        if self._started:
            return []
        self._started = True
        if self._message_id is None:
            self._message_id = derive_message_id(chunk_id)
        message: dict[str, Any] = {
            "id": self._message_id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self._start_input_tokens(), "output_tokens": 0},
        }
        return [("message_start", {"type": "message_start", "message": message})]

    def _start_input_tokens(self) -> int:
        """The count given, else the first usage the backend reported (vLLM's `continuous_usage_stats`)."""
        if self._input_tokens or self._usage is None:
            return self._input_tokens
        return usage_from_chat(self._usage)["input_tokens"]

    def _feed_choice(self, choice: Mapping[str, Any]) -> list[Event]:
        delta = choice.get("delta") or {}
        self._pieces += bool(delta.get("content") or delta.get("tool_calls") or reasoning_text(delta))
        events = self._on_text("thinking", reasoning_text(delta))
        content = delta.get("content")
        events += self._on_text("text", self._stops.push(content if isinstance(content, str) else ""))
        if self._stops.matched is not None:  # the backend went on past a stop sequence, or left it in
            self._finish_reason, self._matched_stop = "stop", self._stops.matched
            return events + self.finish()
        for fragment in delta.get("tool_calls") or []:
            events += self._on_tool_fragment(fragment)
        if choice.get("finish_reason"):
            self._finish_reason = choice["finish_reason"]
            self._matched_stop = choice.get("stop_reason")
            events += self._on_text("text", self._stops.flush()) + self._flush()
        return events

    def _on_text(self, kind: str, text: str) -> list[Event]:
        if not text:
            return []
        if self._open is not None and self._open.kind == "tool_use":
            if self._deferred and self._deferred[-1][0] == kind:
                self._deferred[-1] = (kind, self._deferred[-1][1] + text)
            else:
                self._deferred.append((kind, text))
            return []
        events: list[Event] = []
        if self._open is None or self._open.kind != kind:
            events += self._close_open()
            events.append(self._open_block(kind, skeleton(kind)))
        assert self._open is not None
        events.append(block_delta(self._open.index, text_delta(kind, text)))
        return events

    def _on_tool_fragment(self, fragment: Mapping[str, Any]) -> list[Event]:
        key = self._tool_key(fragment)
        call = self._tools.setdefault(key, _ToolCall())
        function = fragment.get("function") or {}
        call.id = call.id or fragment.get("id")
        call.name = call.name or function.get("name")
        arguments = function.get("arguments") or ""
        if self._open is not None and self._open.tool_key == key:
            return [block_delta(self._open.index, json_delta(arguments))] if arguments else []
        if arguments:
            call.pending.append(arguments)
        if call.block is not None or call.deferred or not call.name:
            return []
        if self._open is not None and self._open.kind == "tool_use":
            call.deferred = True
            self._deferred.append(("tool_use", key))
            return []
        events = self._close_open()
        events += self._start_tool(key, call)
        return events

    def _tool_key(self, fragment: Mapping[str, Any]) -> int:
        index = fragment.get("index")
        if isinstance(index, int):
            return index
        for key, call in self._tools.items():
            if fragment.get("id") and call.id == fragment.get("id"):
                return key
        if fragment.get("id") or not self._tools:
            return len(self._tools)
        return max(self._tools)

    def _start_tool(self, key: int, call: _ToolCall) -> list[Event]:
        call.id = anthropic_tool_id(call.id)
        skeleton = {"type": "tool_use", "id": call.id, "name": call.name or "", "input": {}}
        events = [self._open_block("tool_use", skeleton, key)]
        call.block = self._open.index if self._open is not None else None
        if call.pending:
            events.append(block_delta(events[0][1]["index"], json_delta("".join(call.pending))))
            call.pending.clear()
        return events

    def _open_block(self, kind: str, skeleton: dict[str, Any], tool_key: int | None = None) -> Event:
        self._open = _OpenBlock(kind, self._next_index, tool_key)
        self._next_index += 1
        return (
            "content_block_start",
            {"type": "content_block_start", "index": self._open.index, "content_block": skeleton},
        )

    def _close_open(self) -> list[Event]:
        if self._open is None:
            return []
        index, kind = self._open.index, self._open.kind
        self._open = None
        events: list[Event] = []
        if kind == "thinking":
            events.append(block_delta(index, {"type": "signature_delta", "signature": ""}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        return events

    def _flush(self) -> list[Event]:
        """Close the open block and emit everything buffered, each as a complete block."""
        events = self._close_open()
        deferred, self._deferred = self._deferred, []
        leftovers = [
            ("tool_use", key) for key, call in self._tools.items() if call.block is None and not call.deferred
        ]
        for kind, value in deferred + leftovers:
            if kind == "tool_use":
                events += self._start_tool(value, self._tools[value])
            elif kind == "thinking" or value.strip():
                events += self._on_text(kind, value)
            events += self._close_open()
        return events
