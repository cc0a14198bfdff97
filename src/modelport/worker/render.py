"""Building OpenAI / Jina / TEI response bodies from engine results. Pure functions, JSON-ready dicts."""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from modelport.engines.base import TokenLogprob


def new_id(prefix: str) -> str:
    """An OpenAI-style object id, e.g. chatcmpl-…"""
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage(prompt_tokens: int, completion_tokens: int | None = None) -> dict[str, int]:
    """The `usage` object; embeddings and rerank carry no completion tokens."""
    if completion_tokens is None:
        return {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def public_reason(reason: str) -> str:
    """OpenAI finish reasons: a cancelled generation never reaches a client, but say "stop"."""
    return reason if reason in ("length", "tool_calls") else "stop"


@dataclass
class ChoiceText:
    """One finished choice: accumulated text, tool calls, logprobs, why it ended, the stop string hit."""

    index: int
    text: str = ""
    logprobs: list[TokenLogprob] = field(default_factory=list)
    finish_reason: str = "stop"
    stop_reason: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)

    def add_tool_delta(self, index: int, arguments: str, call_id: str | None, name: str | None) -> None:
        """Fold one streamed tool-call piece into the finished `tool_calls`."""
        if call_id is not None:
            self.tool_calls.append(
                {"id": call_id, "type": "function", "function": {"name": name or "", "arguments": ""}}
            )
        self.tool_calls[index]["function"]["arguments"] += arguments


def chat_message(choice: ChoiceText) -> dict[str, Any]:
    """The assistant `message` of a finished chat choice (content null when it is only tool calls)."""
    message: dict[str, Any] = {"role": "assistant", "content": choice.text}
    if choice.tool_calls:
        message["content"] = choice.text or None
        message["tool_calls"] = choice.tool_calls
    return message


def chat_logprobs(items: list[TokenLogprob]) -> dict[str, Any]:
    """Chat's `logprobs` object: {"content": [{token, logprob, bytes, top_logprobs}]}."""
    return {
        "content": [
            {
                "token": lp.token,
                "logprob": lp.logprob,
                "bytes": list(lp.token_bytes),
                "top_logprobs": [{"token": t, "logprob": v, "bytes": list(b)} for t, v, b in lp.top],
            }
            for lp in items
        ],
        "refusal": None,
    }


def completion_logprobs(items: list[TokenLogprob], offset: int = 0) -> dict[str, Any]:
    """Legacy completions `logprobs`: parallel lists of tokens, logprobs, top maps and text offsets."""
    offsets, position = [], offset
    for lp in items:
        offsets.append(position)
        position += len(lp.token)
    return {
        "tokens": [lp.token for lp in items],
        "token_logprobs": [lp.logprob for lp in items],
        "top_logprobs": [{t: v for t, v, _ in lp.top} for lp in items],
        "text_offset": offsets,
    }


def chat_completion(
    model: str, choices: list[ChoiceText], prompt_tokens: int, completion_tokens: int, logprobs: bool
) -> dict[str, Any]:
    """A `chat.completion` object."""
    return {
        "id": new_id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": c.index,
                "message": chat_message(c),
                "logprobs": chat_logprobs(c.logprobs) if logprobs else None,
                "finish_reason": public_reason(c.finish_reason),
                "stop_reason": c.stop_reason,
            }
            for c in choices
        ],
        "usage": usage(prompt_tokens, completion_tokens),
        "system_fingerprint": None,
    }


def text_completion(
    model: str, choices: list[ChoiceText], prompt_tokens: int, completion_tokens: int, logprobs: bool
) -> dict[str, Any]:
    """A `text_completion` object."""
    return {
        "id": new_id("cmpl"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": c.index,
                "text": c.text,
                "logprobs": completion_logprobs(c.logprobs) if logprobs else None,
                "finish_reason": public_reason(c.finish_reason),
                "stop_reason": c.stop_reason,
            }
            for c in choices
        ],
        "usage": usage(prompt_tokens, completion_tokens),
        "system_fingerprint": None,
    }


@dataclass(frozen=True)
class ChunkMaker:
    """Builds the stream chunks of one response (same id and `created` on every chunk)."""

    model: str
    chat: bool
    logprobs: bool
    id: str = field(default_factory=lambda: "")
    created: int = field(default_factory=lambda: int(time.time()))

    def _base(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk" if self.chat else "text_completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
        }

    def tool_delta(
        self, index: int, call: int, arguments: str, call_id: str | None, name: str | None
    ) -> dict[str, Any]:
        """A chunk carrying a piece of tool call `call`: the first has its id, type and name."""
        piece: dict[str, Any] = {"index": call}
        if call_id is not None:
            piece.update(id=call_id, type="function", function={"name": name, "arguments": arguments})
        else:
            piece["function"] = {"arguments": arguments}
        choice = {"index": index, "delta": {"tool_calls": [piece]}, "logprobs": None, "finish_reason": None}
        return {**self._base(), "choices": [choice]}

    def delta(
        self, index: int, text: str, items: list[TokenLogprob], finish: str | None = None, role: bool = False,
        stop_reason: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """A chunk carrying new text (or the role, or the finish reason) for one choice."""
        choice: dict[str, Any] = {"index": index}
        if self.chat:
            delta: dict[str, Any] = {"role": "assistant", "content": ""} if role else {}
            if text:
                delta["content"] = text
            choice["delta"] = delta
            choice["logprobs"] = chat_logprobs(items) if self.logprobs and items else None
        else:
            choice["text"] = text
            choice["logprobs"] = completion_logprobs(items) if self.logprobs and items else None
        choice["finish_reason"] = public_reason(finish) if finish else None
        if finish:
            choice["stop_reason"] = stop_reason
        return {**self._base(), "choices": [choice]}

    def usage_chunk(self, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
        """The final `stream_options.include_usage` chunk: no choices, the usage."""
        return {**self._base(), "choices": [], "usage": usage(prompt_tokens, completion_tokens)}


def embedding_list(model: str, vectors: Any, fmt: str, prompt_tokens: int) -> dict[str, Any]:
    """An embeddings `list`; base64 is little-endian float32, as OpenAI's clients decode it."""
    import numpy as np

    data = []
    for i, row in enumerate(vectors):
        if fmt == "base64":
            value: Any = base64.b64encode(np.asarray(row, dtype="<f4").tobytes()).decode("ascii")
        else:
            value = np.asarray(row, dtype=np.float32)
        data.append({"object": "embedding", "index": i, "embedding": value})
    return {"object": "list", "data": data, "model": model, "usage": usage(prompt_tokens)}


def jina_rerank(
    model: str, documents: list[str], scores: list[float], top_n: int | None, with_docs: bool, tokens: int
) -> dict[str, Any]:
    """Jina's rerank response: results by descending relevance_score."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])[: top_n or len(scores)]
    results = []
    for i in order:
        item: dict[str, Any] = {"index": i, "relevance_score": scores[i]}
        if with_docs:
            item = {"document": {"text": documents[i]}, **item}
        results.append(item)
    return {"model": model, "object": "list", "results": results, "usage": usage(tokens)}


def tei_rerank(texts: list[str], scores: list[float], return_text: bool) -> list[dict[str, Any]]:
    """TEI's native /rerank response: [{index, score(, text)}] by descending score."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    out = []
    for i in order:
        item: dict[str, Any] = {"index": i, "score": scores[i]}
        if return_text:
            item["text"] = texts[i]
        out.append(item)
    return out
