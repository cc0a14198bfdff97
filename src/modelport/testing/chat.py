"""POST /v1/chat/completions: deterministic chat completions, streamed or not, with tool calls."""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web

from modelport.testing.replies import Reply, chat_reply, count_words, prompt_words
from modelport.testing.streams import DONE, ChunkWriter, content_pieces, split_text
from modelport.testing.wire import Call, FakeHTTPError, json_response

TOOL_FRAGMENTS = 4
CONTEXT_TOKENS = 4096  # the fake's context, in its tokens (words): its /v1/models says so as vLLM does


def _usage(data: dict[str, Any], reply: Reply, n: int) -> dict[str, int]:
    prompt = prompt_words(data.get("messages") or [])
    spent = count_words(reply.content) + count_words(reply.reasoning or "") + count_words(
        reply.tool_arguments or "")
    completion = max(1, spent) * n
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _message(reply: Reply, call_id: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content if reply.tool_name is None else None}
    if reply.reasoning is not None:
        message["reasoning_content"] = reply.reasoning
    if reply.tool_name is not None:
        function = {"name": reply.tool_name, "arguments": reply.tool_arguments}
        message["tool_calls"] = [{"id": call_id, "type": "function", "function": function}]
    return message


def _choice_count(data: dict[str, Any]) -> int:
    n = data.get("n", 1)
    return n if isinstance(n, int) and 1 <= n <= 128 else 1


async def chat_completions(request: web.Request, call: Call) -> web.StreamResponse:
    """Answer a chat completion request (``stream: true`` gives server-sent events)."""
    data = call.json()
    model = call.model(data)
    prompt = prompt_words(data.get("messages") or [])
    if prompt > CONTEXT_TOKENS:  # vLLM's wording, which translators recognise
        raise FakeHTTPError(400, f"This model's maximum context length is {CONTEXT_TOKENS} tokens. However, your"
                                 f" request has {prompt} input tokens. Please reduce the length of the input messages.")
    # x-fake-stop: ignore answers as a server that does not honour `stop` (nor says which one matched)
    reply = chat_reply({**data, "stop": None} if request.headers.get("x-fake-stop") == "ignore" else data)
    n = _choice_count(data)
    completion_id = call.state.new_id("chatcmpl")
    if data.get("stream"):
        return await _stream(request, call, data, _ChunkFrame(completion_id, model, data), reply, n)
    call_id = call.state.new_id("call")
    choices = [{"index": i, "message": _message(reply, call_id), "logprobs": None,
                "finish_reason": reply.finish_reason} for i in range(n)]
    return json_response({"id": completion_id, "object": "chat.completion", "created": int(time.time()),
                          "model": model, "choices": choices, "usage": _usage(data, reply, n)})


class _ChunkFrame:
    """Frames ``chat.completion.chunk`` events cheaply: the constant prefix is serialised once."""

    def __init__(self, completion_id: str, model: str, data: dict[str, Any]) -> None:
        options = data.get("stream_options")
        self.include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        head = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
                "model": model}
        self._head = b"data: " + orjson.dumps(head)[:-1] + b',"choices":[{"index":'
        self._tail = b',"usage":null}\n\n' if self.include_usage else b"}\n\n"

    def delta(self, index: int, delta: dict[str, Any], finish: str | None = None) -> bytes:
        """One chunk carrying ``delta`` for choice ``index``."""
        reason = b"null" if finish is None else orjson.dumps(finish)
        return b"".join((self._head, str(index).encode(), b',"delta":', orjson.dumps(delta),
                         b',"logprobs":null,"finish_reason":', reason, b"}]", self._tail))

    def usage(self, usage: dict[str, int]) -> bytes:
        """The final chunk with empty ``choices`` and the usage."""
        return self._head[:-len(b'{"index":')] + b'],"usage":' + orjson.dumps(usage) + b"}\n\n"


def _deltas(reply: Reply, call: Call, call_id: str) -> list[dict[str, Any]]:
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    if reply.reasoning is not None:
        deltas += [{"reasoning_content": p} for p in content_pieces(reply.reasoning, call.controls)]
    if reply.tool_name is None:
        return deltas + [{"content": p} for p in content_pieces(reply.content, call.controls)]
    first = {"index": 0, "id": call_id, "type": "function",
             "function": {"name": reply.tool_name, "arguments": ""}}
    deltas.append({"tool_calls": [first]})
    pieces = split_text(reply.tool_arguments or "", call.controls.chunks or TOOL_FRAGMENTS)
    return deltas + [{"tool_calls": [{"index": 0, "function": {"arguments": p}}]} for p in pieces if p]


async def _stream(request: web.Request, call: Call, data: dict[str, Any], frame: _ChunkFrame,
                  reply: Reply, n: int) -> web.StreamResponse:
    writer = await ChunkWriter(request, call.controls, "text/event-stream").open()
    deltas = _deltas(reply, call, call.state.new_id("call"))
    for index in range(n):
        for delta in deltas:
            await writer.send(frame.delta(index, delta))
        await writer.send(frame.delta(index, {}, reply.finish_reason))
    if frame.include_usage:
        await writer.send(frame.usage(_usage(data, reply, n)))
    await writer.send(DONE)
    return await writer.finish()
