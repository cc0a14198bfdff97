"""Continuous batching for llama.cpp: many sequences decode together in one context, a slot each.

One decode thread runs the loop. Each step it admits waiting sequences into free slots, builds one
`llama_batch` holding the next token of every generating sequence plus a chunk of the prompt of those
still reading theirs, and calls `llama_decode` once. Every sequence whose logits came out samples its next
token with its own sampler chain (temperature, top-p, seed, penalties, grammar) and hands it to its
consumer. A sequence that ends (end of generation, its limit, or a cancel: a stop string, a client gone)
leaves at the next step, so a new request joins the running batch instead of waiting for the others.

Each slot has its own KV stream of the whole context (`kv_unified=false`), so a sequence's attention
never depends on what else is in the batch: at temperature 0 a request gives the same text alone or among
seven others (a unified cache changes the summation order with its neighbours' cells, and greedy decoding
then drifts; a q8_0 cache keeps that too). The cost is memory: `parallel` x the context's KV.

Slots keep their KV cells after their sequence ends. A new prompt goes to the free slot sharing its
longest prefix, or takes a copy of a busy slot's stream when that one shares much more (llama.cpp copies
whole streams), so a chat's next turn or an agent's repeated system prompt is not recomputed.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from modelport.engines.base import InvalidEngineInput, TokenLogprob
from modelport.engines.llamacpp_sampling import Sampling, new_sampler
from modelport.engines.textgen import token_logprob

log = logging.getLogger("modelport.engines.llamacpp")

#: A shared prefix shorter than this (a chat template's opening) is not worth a slot's other cells.
MIN_REUSE = 32
#: A busy slot's stream is copied only when that saves this many prompt tokens over the best free slot
#: (the copy moves the whole stream: ~190 MB for SmolLM2's 8,192 tokens, tens of ms; 256 tokens take
#: longer to compute).
MIN_COPY_GAIN = 256


class DecodeFailed(RuntimeError):
    """llama.cpp could not decode a batch holding this sequence."""


_END = object()


@dataclass(eq=False)
class Generation:
    """One sequence: its tokens (prompt, then what was generated), where it stands, and its output line.

    Iterate it (on the consumer's thread) for `(token, logprob or None)` pairs; `finish_reason` is then
    "stop" (end of generation), "length" (its limit) or "cancelled". Set `cancel` (the request's: its
    client left) or call `abandon()` (its consumer needs no more: a stop string) to end it early.
    """

    tokens: list[int]
    prompt_len: int
    limit: int
    sampling: Sampling
    cancel: threading.Event
    sampler: Any = None
    slot: int | None = None
    read: int = 0  # tokens whose KV cells are in the cache
    finish_reason: str = "length"
    abandoned: bool = False
    _out: queue.SimpleQueue[Any] = field(default_factory=queue.SimpleQueue)

    def __del__(self) -> None:  # prepared, never started: the decoder never saw its sampler
        if self.sampler is not None and self.slot is None and self.read == 0:
            import llama_cpp

            llama_cpp.llama_sampler_free(self.sampler)
            self.sampler = None

    def abandon(self) -> None:
        """Stop decoding at the next step (a no-op once the sequence ended)."""
        self.abandoned = True

    @property
    def ended(self) -> bool:
        """Whether the client or the consumer asked it to end."""
        return self.abandoned or self.cancel.is_set()

    @property
    def generated(self) -> int:
        """Tokens generated so far."""
        return len(self.tokens) - self.prompt_len

    def __iter__(self) -> Iterator[tuple[int, TokenLogprob | None]]:
        while (item := self._out.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item


@dataclass
class _Slot:
    cached: list[int] = field(default_factory=list)  # tokens whose cells this slot's sequence id holds
    user: Generation | None = None
    last_used: int = 0


class BatchedDecoder:
    """A llama.cpp context with `parallel` slots of `n_ctx` tokens each, and its decode thread."""

    def __init__(
        self, model: Any, *, n_ctx: int, parallel: int, n_batch: int, threads: int,
        piece: Callable[[int], bytes], kv_type: str = "f16",
    ) -> None:  # fmt: skip
        import llama_cpp
        from llama_cpp._internals import LlamaBatch, LlamaContext

        params = llama_cpp.llama_context_default_params()
        params.n_ctx, params.n_batch, params.n_ubatch = n_ctx * parallel, n_batch, min(n_batch, 512)
        params.n_seq_max, params.kv_unified = parallel, False
        params.n_threads = params.n_threads_batch = threads
        # Flash attention reads prompts ~25% faster here; a q8_0 cache halves the memory but doubles that time.
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
        if kv_type == "q8_0":
            params.type_k = params.type_v = llama_cpp.GGML_TYPE_Q8_0
        self._llama_cpp = llama_cpp
        self._model = model
        self._context = LlamaContext(model=model, params=params, verbose=False)
        self._ctx, self._memory = self._context.ctx, self._context.memory
        self._batch = LlamaBatch(n_tokens=n_batch, embd=0, n_seq_max=1, verbose=False)
        self._vocab = model.vocab
        self._n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        self.n_ctx, self.n_batch, self._piece = n_ctx, n_batch, piece
        self._slots = [_Slot() for _ in range(parallel)]
        self._waiting: deque[Generation] = deque()
        self._active: list[Generation] = []
        self._wake = threading.Condition()
        self._clock = 0
        self._closed = False
        self.reused_tokens = 0  # prompt tokens served from cached cells (for tests and benchmarks)
        self._thread = threading.Thread(target=self._run, name="llama-decode", daemon=True)
        self._thread.start()

    @property
    def parallel(self) -> int:
        """Sequences that decode together."""
        return len(self._slots)

    # ---- the consumer's side ------------------------------------------------------------------------

    def prepare(self, prompt: list[int], limit: int, sampling: Sampling, cancel: threading.Event) -> Generation:
        """A sequence ready to `start` (its sampler built, so a bad grammar fails here)."""
        if not prompt:
            raise InvalidEngineInput("the prompt is empty")
        sampler = new_sampler(self._vocab, self._n_vocab, sampling)
        return Generation(list(prompt), len(prompt), limit, sampling, cancel, sampler)

    def start(self, generation: Generation) -> None:
        """Queue a prepared sequence; iterate it for its tokens."""
        with self._wake:
            if self._closed:
                raise RuntimeError("the decoder is closed")
            self._waiting.append(generation)
            self._wake.notify()

    def close(self) -> None:
        """End every sequence and stop the decode thread."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=30)

    # ---- the decode thread ----------------------------------------------------------------------

    def _run(self) -> None:
        outcome: str | BaseException = "cancelled"
        try:
            self._loop()
        except BaseException as exc:  # a bug must not leave consumers waiting forever: fail them, refuse more
            log.exception("the llama.cpp decode loop failed")
            outcome = DecodeFailed(f"the decode loop failed: {exc}")
        with self._wake:
            self._closed = True
            left = [*self._active, *self._waiting]
            self._waiting.clear()
        for generation in left:
            self._end(generation, outcome)

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._closed and not self._waiting and not self._active:
                    self._wake.wait()
                if self._closed:
                    return
                self._drop_cancelled()
                self._admit()
            if self._active:
                self._step()

    def _drop_cancelled(self) -> None:
        for generation in [g for g in self._waiting if g.ended]:
            self._waiting.remove(generation)
            self._end(generation, "cancelled")
        for generation in [g for g in self._active if g.ended]:
            self._end(generation, "cancelled")

    def _admit(self) -> None:
        """Give free slots to the oldest waiting sequences."""
        while self._waiting:
            free = [i for i, slot in enumerate(self._slots) if slot.user is None]
            if not free:
                return
            generation = self._waiting.popleft()
            index, reused = self._place(generation, free)
            self._claim(generation, index, reused)

    def _place(self, generation: Generation, free: list[int]) -> tuple[int, int]:
        """The free slot for `generation` and how many of its tokens that slot's cells already hold."""
        tokens = generation.tokens
        shares = [(_common(self._slots[i].cached, tokens), i) for i in free]
        best, index = max(shares)
        if best >= MIN_REUSE:
            return index, best
        # Nothing worth keeping: the least recently used slot (an empty one first) gives its cells up.
        index = min(free, key=lambda i: self._slots[i].last_used)
        return index, dict((i, n) for n, i in shares)[index]

    def _claim(self, generation: Generation, index: int, reused: int) -> None:
        slot, tokens = self._slots[index], generation.tokens
        donor, shared = max(
            ((_common(_held(s), tokens), j) for j, s in enumerate(self._slots) if j != index),
            default=(0, -1),
        )
        limit = len(tokens) - 1  # at least one token is read again, for its logits
        if donor - reused >= MIN_COPY_GAIN and shared >= 0:
            self._llama_cpp.llama_memory_seq_rm(self._memory, index, -1, -1)
            self._llama_cpp.llama_memory_seq_cp(self._memory, shared, index, -1, -1)
            reused = donor
        reused = min(reused, limit)
        self._llama_cpp.llama_memory_seq_rm(self._memory, index, reused, -1)
        self.reused_tokens += reused
        slot.cached, slot.user = list(tokens[:reused]), generation
        generation.slot, generation.read = index, reused
        self._active.append(generation)

    def _step(self) -> None:
        rows = self._fill_batch()
        status = int(self._llama_cpp.llama_decode(self._ctx, self._batch.batch))
        if status == 0:
            for generation, row, _ in rows:
                if row >= 0:
                    self._sample(generation, row)
            return
        for generation, _, start in rows:  # llama.cpp restored the cache or kept part of it
            generation.read = start
            self._llama_cpp.llama_memory_seq_rm(self._memory, generation.slot, start, -1)
        for generation in list(self._active):
            self._end(generation, DecodeFailed(f"llama_decode failed ({status})"))

    def _fill_batch(self) -> list[tuple[Generation, int, int]]:
        """Generating sequences first (one token each), then prompt chunks in the room left.

        Each entry: the sequence, its logits row in the batch (-1: none yet) and where its read started.
        """
        batch = self._batch.batch
        batch.n_tokens = 0
        rows: list[tuple[Generation, int, int]] = []
        order = sorted(self._active, key=lambda g: len(g.tokens) - g.read > 1)
        for generation in order:
            room = self.n_batch - batch.n_tokens
            if room <= 0:
                break
            start = generation.read
            end = min(len(generation.tokens), start + room)
            for pos in range(start, end):
                j = batch.n_tokens
                batch.token[j], batch.pos[j], batch.n_seq_id[j] = generation.tokens[pos], pos, 1
                batch.seq_id[j][0] = generation.slot
                batch.logits[j] = pos == len(generation.tokens) - 1
                batch.n_tokens += 1
            generation.read = end
            rows.append((generation, batch.n_tokens - 1 if end == len(generation.tokens) else -1, start))
        return rows

    def _sample(self, generation: Generation, row: int) -> None:
        llama_cpp = self._llama_cpp
        token = int(llama_cpp.llama_sampler_sample(generation.sampler, self._ctx, row))
        if llama_cpp.llama_vocab_is_eog(self._vocab, token):
            self._end(generation, "stop")
            return
        logprob = None
        if generation.sampling.top_logprobs is not None:
            logprob = self._logprob(row, token, generation.sampling.top_logprobs)
        generation.tokens.append(token)
        generation._out.put((token, logprob))
        if generation.generated >= generation.limit:
            self._end(generation, "length")

    def _logprob(self, row: int, token: int, top_n: int) -> TokenLogprob:
        import numpy as np

        logits = self._llama_cpp.llama_get_logits_ith(self._ctx, row)
        values = np.ctypeslib.as_array(logits, shape=(self._n_vocab,))
        return token_logprob(values, token, top_n, self._piece)

    def _end(self, generation: Generation, outcome: str | BaseException) -> None:
        if generation in self._active:
            self._active.remove(generation)
        if generation.slot is not None:
            self._clock += 1
            slot = self._slots[generation.slot]
            slot.cached, slot.user, slot.last_used = generation.tokens[: generation.read], None, self._clock
            generation.slot = None
        if generation.sampler is not None:
            self._llama_cpp.llama_sampler_free(generation.sampler)
            generation.sampler = None
        if isinstance(outcome, BaseException):
            generation._out.put(outcome)
        else:
            generation.finish_reason = outcome
        generation._out.put(_END)

def _held(slot: _Slot) -> list[int]:
    """The tokens whose cells a slot holds now: its sequence's read part, or what it kept."""
    return slot.user.tokens[: slot.user.read] if slot.user else slot.cached


def _common(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i
