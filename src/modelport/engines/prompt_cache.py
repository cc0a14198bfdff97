"""Saved llama.cpp states, so a prompt that shares a long prefix with an earlier one skips recomputing it.

`Llama.generate` already reuses the longest prefix the new prompt shares with the context's current
tokens (the previous request): a chat's next turn, or the same system prompt twice in a row. That is one
slot; when requests with different prefixes alternate (two agents, two chats), each evicts the other.
This cache keeps more: after a generation the context's state (its KV cells and their tokens) is saved,
up to `capacity_bytes` in all, least recently used first out; before one, the saved state sharing the
longest prefix with the prompt is restored when it shares more than the live context does.

`LlamaRAMCache` does the same inside `create_completion` only, and its `LlamaState` copies the logits
buffer too (n_batch x n_vocab floats, 100 MB for SmolLM2), so we keep our own, of KV state bytes only.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from typing import Any

import numpy as np

#: Prompts shorter than this are cheap to recompute: not worth a saved state.
MIN_TOKENS = 128
#: Restore a saved state only when it saves at least this many tokens over the live context.
MIN_GAIN = 32


def common_prefix(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> int:
    """Length of the longest common prefix of two token arrays."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    diff = np.flatnonzero(a[:n] != b[:n])
    return int(diff[0]) if len(diff) else n


class PromptCache:
    """Least-recently-used saved states of one `Llama`, keyed by the tokens they hold."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        self._entries: OrderedDict[int, tuple[np.ndarray[Any, Any], bytes]] = OrderedDict()
        self._next = 0
        self.size = 0
        self.hits = 0

    def __len__(self) -> int:
        return len(self._entries)

    def restore(self, llama: Any, prompt: list[int]) -> int:
        """Load the saved state sharing the most with `prompt` if it beats the live context; its gain."""
        if not self._entries:
            return 0
        tokens = np.asarray(prompt, dtype=np.intc)
        live = common_prefix(np.asarray(llama.input_ids[: llama.n_tokens]), tokens)
        best, best_key = live, None
        for key, (saved, _) in self._entries.items():
            shared = common_prefix(saved, tokens)
            if shared > best:
                best, best_key = shared, key
        if best_key is None or best - live < MIN_GAIN:
            return 0
        saved, state = self._entries[best_key]
        self._entries.move_to_end(best_key)
        self._load(llama, saved, state)
        self.hits += 1
        return best - live

    def save(self, llama: Any) -> None:
        """Save the context's state; states whose tokens it extends are dropped first."""
        import llama_cpp

        n = int(llama.n_tokens)
        if n < MIN_TOKENS or self.capacity_bytes <= 0:
            return
        tokens = np.array(llama.input_ids[:n], dtype=np.intc)
        for key, (saved, _) in list(self._entries.items()):
            if len(saved) <= n and common_prefix(saved, tokens) == len(saved):
                self._drop(key)
        size = int(llama_cpp.llama_state_get_size(llama._ctx.ctx))
        if size > self.capacity_bytes:
            return
        buffer = (ctypes.c_uint8 * size)()
        written = int(llama_cpp.llama_state_get_data(llama._ctx.ctx, buffer, size))
        state = bytes(memoryview(buffer)[:written])
        while self._entries and self.size + len(state) > self.capacity_bytes:
            self._drop(next(iter(self._entries)))
        self._entries[self._next] = (tokens, state)
        self._next += 1
        self.size += len(state)

    def _drop(self, key: int) -> None:
        _, state = self._entries.pop(key)
        self.size -= len(state)

    @staticmethod
    def _load(llama: Any, tokens: np.ndarray[Any, Any], state: bytes) -> None:
        import llama_cpp

        buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        if int(llama_cpp.llama_state_set_data(llama._ctx.ctx, buffer, len(state))) != len(state):
            raise RuntimeError("llama.cpp refused a saved state")
        llama.input_ids[: len(tokens)] = tokens
        llama.n_tokens = len(tokens)
        llama._requires_eval = True
