"""POST /v1/messages: Anthropic's Messages API served natively (for pass-through tests)."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from modelport.testing.chat import CONTEXT_TOKENS
from modelport.testing.replies import (
    apply_stop,
    count_words,
    last_user_text,
    limit_words,
    message_text,
    sample_arguments,
)
from modelport.testing.streams import ChunkWriter, content_pieces, split_text, sse
from modelport.testing.wire import Call, FakeHTTPError, json_response

TOOL_FRAGMENTS = 4


def _tool_result(messages: list[Any]) -> str | None:
    last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
    content = last.get("content")
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict) and block.get("type") == "tool_result":
            return message_text(block.get("content"))
    return None


def _tool_block(call: Call, data: dict[str, Any]) -> dict[str, Any] | None:
    tools = data.get("tools")
    messages = data.get("messages") or []
    if not (tools and isinstance(tools, list) and isinstance(tools[0], dict)):
        return None
    if "call tool" not in last_user_text(messages).lower() or _tool_result(messages) is not None:
        return None
    tool = tools[0]
    return {"type": "tool_use", "id": call.state.new_id("toolu"), "name": str(tool.get("name", "tool")),
            "input": sample_arguments(tool.get("input_schema"))}


def _answer(call: Call, data: dict[str, Any]) -> tuple[dict[str, Any], str, str | None]:
    """The content block, the stop reason and the matched stop sequence."""
    tool = _tool_block(call, data)
    if tool is not None:
        return tool, "tool_use", None
    messages = data.get("messages") or []
    said = _tool_result(messages)
    text = f"Tool said: {said}" if said is not None else f"Echo: {last_user_text(messages)}"
    text, cut = limit_words(text, data["max_tokens"])
    text, matched = apply_stop(text, data.get("stop_sequences"))
    reason = "stop_sequence" if matched is not None else ("max_tokens" if cut else "end_turn")
    return {"type": "text", "text": text}, reason, matched


def _validate(call: Call, data: dict[str, Any]) -> str:
    model = call.model(data)
    if not isinstance(data.get("max_tokens"), int):
        raise FakeHTTPError(400, "max_tokens: Field required")
    if not isinstance(data.get("messages"), list) or not data["messages"]:
        raise FakeHTTPError(400, "messages: at least one message is required")
    return model


def _input_tokens(data: dict[str, Any]) -> int:
    system = data.get("system")
    words = count_words(message_text(system)) + sum(
        count_words(message_text(m.get("content"))) for m in data["messages"] if isinstance(m, dict))
    return max(1, words)


def _output_tokens(block: dict[str, Any]) -> int:
    if block["type"] == "text":
        return max(1, count_words(block["text"]))
    return max(1, len(orjson.dumps(block["input"])) // 4)


async def messages(request: web.Request, call: Call) -> web.StreamResponse:
    """Answer a Messages API request: ``"Echo: <last user text>"``, or a ``tool_use`` block."""
    data = call.json()
    model = _validate(call, data)
    if _input_tokens(data) > CONTEXT_TOKENS:  # vLLM's Messages endpoint words it as its chat one does
        raise FakeHTTPError(400, f"This model's maximum context length is {CONTEXT_TOKENS} tokens. However, your"
                                 f" request has {_input_tokens(data)} input tokens. Please reduce the length of the"
                                 " input messages.")
    block, reason, matched = _answer(call, data)
    message = {"id": call.state.new_id("msg"), "type": "message", "role": "assistant", "model": model,
               "content": [block], "stop_reason": reason, "stop_sequence": matched,
               "usage": {"input_tokens": _input_tokens(data), "output_tokens": _output_tokens(block)}}
    if data.get("stream"):
        return await _stream(request, call, message)
    return json_response(message)


def _block_events(block: dict[str, Any], call: Call) -> list[bytes]:
    start: dict[str, Any]
    if block["type"] == "text":
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in content_pieces(block["text"], call.controls)]
    else:
        start = {**block, "input": {}}
        arguments = orjson.dumps(block["input"]).decode()
        pieces = split_text(arguments, call.controls.chunks or TOOL_FRAGMENTS)
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces if p]
    events = [sse({"type": "content_block_start", "index": 0, "content_block": start}, "content_block_start")]
    events += [sse({"type": "content_block_delta", "index": 0, "delta": d}, "content_block_delta") for d in deltas]
    return [*events, sse({"type": "content_block_stop", "index": 0}, "content_block_stop")]


async def _stream(request: web.Request, call: Call, message: dict[str, Any]) -> web.StreamResponse:
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None,
             "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1}}
    events = [sse({"type": "message_start", "message": start}, "message_start")]
    events += _block_events(message["content"][0], call)
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]}
    events.append(sse({"type": "message_delta", "delta": delta,
                       "usage": {"output_tokens": usage["output_tokens"]}}, "message_delta"))
    events.append(sse({"type": "message_stop"}, "message_stop"))
    writer = await ChunkWriter(request, call.controls, "text/event-stream").open()
    for event in events:
        await writer.send(event)
    return await writer.finish()
