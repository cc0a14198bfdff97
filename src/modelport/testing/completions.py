"""POST /v1/completions: deterministic legacy text completions, streamed or not."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from modelport.testing.replies import count_words, finish_text
from modelport.testing.streams import DONE, ChunkWriter, content_pieces, sse
from modelport.testing.wire import Call, FakeHTTPError, json_response

DEFAULT_MAX_TOKENS = 16


def _prompts(data: dict[str, Any]) -> list[str]:
    """The prompts of a completions request: a string, a list of strings, a token array or a list of them."""
    prompt = data.get("prompt", "")
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and prompt:
        if all(_is_token(t) for t in prompt):
            return [" ".join(str(t) for t in prompt)]
        if all(isinstance(p, str) for p in prompt):
            return prompt
        if all(isinstance(p, list) and p and all(_is_token(t) for t in p) for p in prompt):
            return [" ".join(str(t) for t in p) for p in prompt]
    raise FakeHTTPError(400, "prompt must be a string, a list of strings or token arrays", param="prompt")


def _is_token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31


def _answers(data: dict[str, Any]) -> list[tuple[str, str]]:
    max_words = data.get("max_tokens", DEFAULT_MAX_TOKENS)
    max_words = max_words if isinstance(max_words, int) else None
    n = data.get("n", 1)
    n = n if isinstance(n, int) and 1 <= n <= 128 else 1
    answers = [finish_text(f"Echo: {p}", max_words, data.get("stop")) for p in _prompts(data)]
    return [answer for answer in answers for _ in range(n)]


def _usage(data: dict[str, Any], answers: list[tuple[str, str]]) -> dict[str, int]:
    prompt = max(1, sum(count_words(p) for p in _prompts(data)))
    completion = max(1, sum(count_words(text) for text, _ in answers))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


async def completions(request: web.Request, call: Call) -> web.StreamResponse:
    """Answer a text completion request: ``"Echo: <prompt>"`` cut to ``max_tokens`` words (default 16)."""
    data = call.json()
    model = call.model(data)
    answers = _answers(data)
    head = {"id": call.state.new_id("cmpl"), "object": "text_completion", "created": int(time.time()),
            "model": model}
    if data.get("stream"):
        return await _stream(request, call, data, head, answers)
    choices = [{"text": text, "index": i, "logprobs": None, "finish_reason": finish}
               for i, (text, finish) in enumerate(answers)]
    return json_response({**head, "choices": choices, "usage": _usage(data, answers)})


async def _stream(request: web.Request, call: Call, data: dict[str, Any], head: dict[str, Any],
                  answers: list[tuple[str, str]]) -> web.StreamResponse:
    options = data.get("stream_options")
    include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    extra = {"usage": None} if include_usage else {}
    writer = await ChunkWriter(request, call.controls, "text/event-stream").open()
    for index, (text, finish) in enumerate(answers):
        for piece in content_pieces(text, call.controls):
            choice = {"text": piece, "index": index, "logprobs": None, "finish_reason": None}
            await writer.send(sse({**head, "choices": [choice], **extra}))
        last = {"text": "", "index": index, "logprobs": None, "finish_reason": finish}
        await writer.send(sse({**head, "choices": [last], **extra}))
    if include_usage:
        await writer.send(sse({**head, "choices": [], "usage": _usage(data, answers)}))
    await writer.send(DONE)
    return await writer.finish()
