"""Pure helpers for token-by-token generation: stop strings, UTF-8 reassembly, log probabilities."""

from __future__ import annotations

import codecs
from collections.abc import Callable, Sequence
from typing import Any

from modelport.engines.base import TokenLogprob


class StopBuffer:
    """Releases generated text, holding back any tail that could still grow into a stop string.

    `push(text)` returns (text safe to emit, stopped); once a stop string appears, the text before it
    is released and everything from the stop string on is dropped (OpenAI semantics). `matched` is then
    the stop string found (the one that starts first; the longest of those starting there).
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._held = ""
        self.matched: str | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def push_bytes(self, piece: bytes) -> tuple[str, bool]:
        """Like `push`, for raw token bytes that may split a UTF-8 character."""
        return self.push(self._decoder.decode(piece))

    def push(self, text: str) -> tuple[str, bool]:
        """Add text; return what may be emitted now and whether a stop string was hit."""
        self._held += text
        if not self._stops:
            out, self._held = self._held, ""
            return out, False
        hits = [(i, -len(s), s) for s in self._stops if (i := self._held.find(s)) >= 0]
        if hits:
            at, _, self.matched = min(hits)
            out = self._held[:at]
            self._held = ""
            return out, True
        keep = self._longest_stop_prefix_suffix()
        cut = len(self._held) - keep
        out, self._held = self._held[:cut], self._held[cut:]
        return out, False

    def flush(self) -> str:
        """Everything still held (the generation ended without a stop string)."""
        out = self._held + self._decoder.decode(b"", final=True)
        self._held = ""
        return out

    def _longest_stop_prefix_suffix(self) -> int:
        best = 0
        for stop in self._stops:
            for n in range(min(len(stop) - 1, len(self._held)), best, -1):
                if self._held.endswith(stop[:n]):
                    best = n
                    break
        return best


def token_logprob(logits: Any, token: int, top_n: int, piece: Callable[[int], bytes]) -> TokenLogprob:
    """Log-softmax of one row of logits: the chosen token's logprob and the `top_n` best alternatives."""
    import numpy as np

    row = np.asarray(logits, dtype=np.float64)
    shifted = row - row.max()
    logprobs = shifted - np.log(np.exp(shifted).sum())
    top: list[tuple[str, float, bytes]] = []
    if top_n > 0:
        best = np.argpartition(-logprobs, top_n)[:top_n]
        for idx in sorted(best.tolist(), key=lambda i: -logprobs[i]):
            raw = piece(idx)
            top.append((raw.decode("utf-8", errors="replace"), float(logprobs[idx]), raw))
    raw = piece(token)
    return TokenLogprob(
        token=raw.decode("utf-8", errors="replace"),
        logprob=float(logprobs[token]),
        token_bytes=raw,
        top=tuple(top),
    )
