"""Stop sequences found in the text itself, for backends that don't say which one ended the reply.

vLLM and our workers report the matched stop string (``choice.stop_reason``); other OpenAI-compatible servers
don't, and some ignore ``stop`` past a few entries or leave the matched string in the text. Anthropic's
clients expect ``stop_reason: "stop_sequence"`` with the sequence, and a text that stops just before it.
So the translation looks for the client's sequences in the text: a reply is cut at the first one it holds,
and that one is reported. A stream holds back the end of its text while it could be the start of a
sequence (never more than the longest sequence, less one character), so a sequence split over chunks is
neither sent nor missed. The first ``MAX_SCANNED`` sequences of up to ``MAX_SCANNED_CHARS`` are looked for.
"""

from __future__ import annotations

from collections.abc import Sequence

#: What is scanned for (the first sequences, of bounded length); the backend still gets them all.
MAX_SCANNED = 64
MAX_SCANNED_CHARS = 256


def first_stop(text: str, stops: Sequence[str]) -> tuple[int, str] | None:
    """Where the earliest stop sequence in ``text`` begins, and which (the longest of those starting there)."""
    best: tuple[int, str] | None = None
    for stop in stops:
        at = text.find(stop) if stop else -1
        if at >= 0 and (best is None or at < best[0] or (at == best[0] and len(stop) > len(best[1]))):
            best = (at, stop)
    return best


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, str | None]:
    """``text`` cut before its first stop sequence, and that sequence (``text`` and None without one)."""
    found = first_stop(text, [s for s in stops[:MAX_SCANNED] if len(s) <= MAX_SCANNED_CHARS])
    return (text, None) if found is None else (text[: found[0]], found[1])


class StopScanner:
    """Streamed text in, text safe to send out; ``matched`` once a stop sequence was seen (nothing after it
    is sent)."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(s for s in stops[:MAX_SCANNED] if s and len(s) <= MAX_SCANNED_CHARS)
        self._prefixes = frozenset(s[:k] for s in self._stops for k in range(1, len(s)))
        self._longest = max((len(s) for s in self._stops), default=0)
        self._held = ""
        self.matched: str | None = None

    def push(self, text: str) -> str:
        """The part of ``text`` (after what was held back) that can go out now."""
        if not self._stops:
            return text
        if self.matched is not None:
            return ""
        pending = self._held + text
        found = first_stop(pending, self._stops)
        if found is not None:
            self._held, self.matched = "", found[1]
            return pending[: found[0]]
        keep = self._held_back(pending)
        self._held = pending[len(pending) - keep :]
        return pending[: len(pending) - keep]

    def flush(self) -> str:
        """What was held back, now that no more text follows."""
        held, self._held = self._held, ""
        return held

    def _held_back(self, text: str) -> int:
        """How many characters at the end of ``text`` could begin a stop sequence."""
        for k in range(min(len(text), self._longest - 1), 0, -1):
            if text[-k:] in self._prefixes:
                return k
        return 0
