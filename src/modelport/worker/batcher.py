"""Dynamic batching: concurrent embedding and rerank requests to one instance run as one engine batch.

A request becomes a job in a line. When the engine is free, the batcher takes the oldest job and every
later one that can share its engine call (same options), up to `max_requests` jobs and `max_tokens`
estimated tokens, and runs them as one call on the engine thread; each job gets its own rows back, in
order, with its own token count. A busy engine batches whatever queued while it worked; an idle one waits
`wait_s` for companions when its last batch held several jobs (so a lone client waits for nothing).
More than `max_queue` jobs in line while the engine works are refused (`QueueFull`, 503). When a batch
fails, its jobs are retried one by one, so one bad input fails only its own request.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from modelport.engines.base import BatchReranker, Embeddings, Engine, RerankScores
from modelport.worker.gate import InferenceGate, QueueFull

J = TypeVar("J")
R = TypeVar("R")

#: A rough token estimate from characters (English WordPiece/BPE: ~4 characters a token), for budgets.
CHARS_PER_TOKEN = 3


@dataclass(frozen=True)
class BatchLimits:
    """How much one engine batch gathers, how long an idle engine waits, how many jobs may wait."""

    max_requests: int = 64
    max_tokens: int = 16_384
    wait_s: float = 0.002
    max_queue: int = 512

    @classmethod
    def from_engine_args(cls, args: Mapping[str, Any], max_queue: int) -> BatchLimits:
        """Limits from parsed engine args (`max_batch_requests`, `max_batch_tokens`, `batch_wait_ms`)."""
        default = cls()
        return cls(
            max_requests=args.get("max_batch_requests", default.max_requests),
            max_tokens=args.get("max_batch_tokens", default.max_tokens),
            wait_s=args.get("batch_wait_ms", default.wait_s * 1000) / 1000,
            max_queue=max_queue,
        )


@dataclass
class _Pending(Generic[J, R]):
    job: J
    key: Hashable
    cost: int
    future: asyncio.Future[R]


class Batcher(Generic[J, R]):
    """Runs jobs through `run(jobs) -> results` (on the engine thread), gathering concurrent ones.

    `key(job)`: jobs with equal keys may share a call; `cost(job)`: its estimated tokens.
    """

    def __init__(
        self,
        gate: InferenceGate,
        run: Callable[[list[J]], list[R]],
        *,
        key: Callable[[J], Hashable],
        cost: Callable[[J], int],
        limits: BatchLimits,
    ) -> None:
        self._gate, self._run, self._key, self._cost, self.limits = gate, run, key, cost, limits
        self._line: deque[_Pending[J, R]] = deque()
        self._runner: asyncio.Task[None] | None = None
        self._last_size = 0  # jobs in the latest batch

    @property
    def waiting(self) -> int:
        """Jobs in line, not yet in an engine batch."""
        return len(self._line)

    async def submit(self, job: J) -> R:
        """The result of `job`, computed in a batch with whatever else is waiting."""
        busy = self._runner is not None and not self._runner.done()
        if busy and len(self._line) >= self.limits.max_queue:
            raise QueueFull(len(self._line))
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._line.append(_Pending(job, self._key(job), self._cost(job), future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._drain())
        return await future  # a client that hangs up cancels this future; its job is then skipped

    async def _drain(self) -> None:
        # An idle engine lets requests that are already on their way join: those ready to run at once, and,
        # when the last batch shows that requests come together, those arriving within `wait_s`.
        await asyncio.sleep(0)
        if self._last_size > 1 and len(self._line) < self.limits.max_requests:
            await asyncio.sleep(self.limits.wait_s)
        while self._line:
            async with self._gate.turn():
                batch = self._take()
                if batch:
                    self._last_size = len(batch)
                    await self._execute(batch)

    def _take(self) -> list[_Pending[J, R]]:
        """The oldest live job and the later ones that fit with it; the others keep their places."""
        batch: list[_Pending[J, R]] = []
        kept: deque[_Pending[J, R]] = deque()
        tokens = 0
        while self._line:
            item = self._line.popleft()
            if item.future.done():
                continue
            fits = not batch or (
                item.key == batch[0].key
                and len(batch) < self.limits.max_requests
                and tokens + item.cost <= self.limits.max_tokens
            )
            if fits:
                batch.append(item)
                tokens += item.cost
            else:
                kept.append(item)
        self._line = kept
        return batch

    async def _execute(self, batch: list[_Pending[J, R]]) -> None:
        try:
            results = await self._gate.call(self._run, [item.job for item in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"engine batch returned {len(results)} results for {len(batch)} jobs")
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0].future, exception=exc)
                return
            for item in batch:  # find the one that fails: each job alone
                await self._execute([item])
            return
        for item, result in zip(batch, results, strict=True):
            _settle(item.future, result=result)


def _settle(future: asyncio.Future[Any], *, result: Any = None, exception: BaseException | None = None) -> None:
    if future.done():  # the client hung up meanwhile
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)


# ---- embeddings and rerank over an engine ---------------------------------------------------------


@dataclass(frozen=True)
class EmbedJob:
    """One embeddings request: its texts and the options they are embedded with."""

    texts: tuple[str, ...]
    normalize: bool = True
    input_type: str | None = None


@dataclass(frozen=True)
class RerankJob:
    """One rerank request: a query and the documents to score against it."""

    query: str
    documents: tuple[str, ...]


def _estimate(texts: Sequence[str], limit: int) -> int:
    return sum(min(limit, len(text) // CHARS_PER_TOKEN + 2) for text in texts)


def embed_many(engine: Engine, jobs: list[EmbedJob]) -> list[Embeddings]:
    """Every job's texts in one `engine.embed` call, split back into one `Embeddings` per job."""
    first = jobs[0]
    texts = [text for job in jobs for text in job.texts]
    whole = engine.embed(texts, normalize=first.normalize, input_type=first.input_type)
    if len(jobs) == 1:
        return [whole]
    if len(whole.input_tokens) != len(texts):
        raise RuntimeError("the engine does not count tokens per input: cannot split its batch")
    out, start = [], 0
    for job in jobs:
        end = start + len(job.texts)
        counts = whole.input_tokens[start:end]
        out.append(Embeddings(vectors=whole.vectors[start:end], prompt_tokens=sum(counts), input_tokens=counts))
        start = end
    return out


def rerank_many(engine: Engine, jobs: list[RerankJob]) -> list[RerankScores]:
    """All jobs in one engine pass when the engine batches rerank (`BatchReranker`), else one by one."""
    if isinstance(engine, BatchReranker):
        return engine.rerank_batch([(job.query, job.documents) for job in jobs])
    return [engine.rerank(job.query, job.documents) for job in jobs]


class EngineBatchers:
    """The embeddings and rerank batchers of one engine, sharing its gate (one engine thread)."""

    def __init__(self, engine: Engine, gate: InferenceGate, limits: BatchLimits) -> None:
        self.embeddings: Batcher[EmbedJob, Embeddings] = Batcher(
            gate,
            lambda jobs: embed_many(engine, jobs),
            key=lambda job: (job.normalize, job.input_type),
            cost=lambda job: _estimate(job.texts, engine.max_model_len),
            limits=limits,
        )
        self.rerank: Batcher[RerankJob, RerankScores] = Batcher(
            gate,
            lambda jobs: rerank_many(engine, jobs),
            key=lambda job: None,
            cost=lambda job: _estimate((job.query, *job.documents), engine.max_model_len),
            limits=limits,
        )

    async def embed(self, texts: Sequence[str], *, normalize: bool = True, input_type: str | None = None) -> Embeddings:
        """`engine.embed(texts, ...)`, batched with concurrent requests."""
        return await self.embeddings.submit(EmbedJob(tuple(texts), normalize, input_type))

    async def score(self, query: str, documents: Sequence[str]) -> RerankScores:
        """`engine.rerank(query, documents)`, batched with concurrent requests."""
        return await self.rerank.submit(RerankJob(query, tuple(documents)))
