"""Fakes for tests and benchmarks: a real HTTP server standing in for an OpenAI-compatible engine.

``FakeUpstream`` serves deterministic answers for the OpenAI routes (models, chat, completions, embeddings,
images, audio), Jina's ``/v1/rerank`` and Anthropic's ``/v1/messages``. Request headers steer it:

- ``x-fake-status: N``: answer with status N and an error body (Anthropic-shaped on ``/v1/messages``);
- ``x-fake-delay-ms: N``: wait N ms before the response headers;
- ``x-fake-chunk-delay-ms: N``: wait N ms between stream chunks;
- ``x-fake-chunks: N``: send N content chunks in a stream (default: up to 8);
- ``x-fake-drop-after: N``: abort the connection after N stream chunks;
- ``x-fake-fault: KIND``: a 200 answer gone wrong, ``html``, ``invalid-json``, ``wrong-shape``,
  ``missing-fields``, ``cut`` or ``stall`` (``testing.faults``), in streams after ``x-fake-fault-after: N``
  chunks (default 2);
- ``x-fake-stop: ignore``: chat ignores ``stop``, as servers that don't honour it do.

Chat prompts longer than ``CONTEXT_TOKENS`` words (4,096, the ``max_model_len`` its ``/v1/models`` reports)
get vLLM's context-overflow 400.

Run one from a shell with ``python -m modelport.testing --port 8000``.
"""

from modelport.testing.server import FakeUpstream
from modelport.testing.state import RecordedRequest

__all__ = ["FakeUpstream", "RecordedRequest"]
