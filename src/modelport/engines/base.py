"""The engine contract: what a built-in engine offers and the small records it takes and returns.

An engine hosts one model in-process. Its methods are blocking (the worker runs them in a thread, one
at a time) and take plain, already-validated records; they never see HTTP or JSON. Streaming methods
are generators that check a `threading.Event` between tokens so a client that hangs up stops the work.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


class Capability(str, enum.Enum):
    """An API surface an engine can serve; the worker mounts only the routes its engine offers."""

    CHAT = "chat"
    COMPLETIONS = "completions"
    EMBEDDINGS = "embeddings"
    RERANK = "rerank"
    TOKENIZE = "tokenize"
    SPEECH = "speech"
    TRANSCRIPTION = "transcription"
    IMAGE_GENERATION = "image_generation"
    IMAGE_EDIT = "image_edit"


class EngineUnavailable(RuntimeError):
    """The engine's library or weights are missing here; the message names what to install."""


class InvalidEngineInput(ValueError):
    """The request is well-formed JSON but the engine cannot honour it (rendered as a 400)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class ContextLengthExceeded(InvalidEngineInput):
    """The prompt (plus what must be generated) does not fit the model's context.

    Rendered as OpenAI's `context_length_exceeded` 400; the Messages translation words it as Anthropic
    does (`prompt is too long: N tokens > M maximum`), which Claude Code recognises to compact.
    """

    def __init__(self, prompt_tokens: int, max_context: int) -> None:
        super().__init__(
            f"This model's maximum context length is {max_context} tokens. However, your prompt has"
            f" {prompt_tokens} tokens (the deployment's engine arg n_ctx sets the context).",
            "messages",
        )
        self.prompt_tokens = prompt_tokens
        self.max_context = max_context


@dataclass(frozen=True)
class GenerationRequest:
    """A text generation: either `prompt` (completions) or `messages` (chat)."""

    prompt: str | None = None
    messages: tuple[dict[str, Any], ...] | None = None
    max_tokens: int | None = None
    temperature: float | None = None  # None: the engine's default (a deployment's engine arg, else 1.0)
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logprobs: bool = False
    top_logprobs: int = 0
    response_format: dict[str, Any] | None = None
    #: OpenAI function tools ({"type": "function", "function": {name, description, parameters}}).
    tools: tuple[dict[str, Any], ...] = ()
    #: "auto" | "none" | "required" | "function" (then `tool_name` is the one to call).
    tool_choice: str = "auto"
    tool_name: str | None = None
    #: Continue a final assistant message (prefill) instead of opening a new turn; None: continue
    #: exactly when the last message is an assistant message without tool calls.
    continue_final: bool | None = None


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token with its log probability and the most likely alternatives."""

    token: str
    logprob: float
    token_bytes: bytes
    top: tuple[tuple[str, float, bytes], ...] = ()


@dataclass(frozen=True)
class TextDelta:
    """Newly generated text (possibly empty when text is held back) and the tokens behind it."""

    text: str
    n_tokens: int
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of the `index`-th tool call: the first carries its id and name, later ones arguments."""

    index: int
    arguments: str
    id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Finish:
    """The last item of a generation: why it stopped, the stop string that matched, the token counts."""

    finish_reason: str  # "stop" | "length" | "tool_calls" | "cancelled"
    prompt_tokens: int
    completion_tokens: int
    stop_reason: str | None = None  # the stop string that ended the text (vLLM's `stop_reason`)


GenerationEvent = TextDelta | ToolCallDelta | Finish


@dataclass(frozen=True)
class Embeddings:
    """Vectors (a float32 numpy array, one row per input), the tokens the inputs cost, and (when the
    engine counts them) each input's own tokens, which let a batch of several requests be split."""

    vectors: Any
    prompt_tokens: int
    input_tokens: tuple[int, ...] = ()


@dataclass(frozen=True)
class RerankScores:
    """One relevance score per document, in input order, and the tokens scored."""

    scores: list[float]
    prompt_tokens: int


@dataclass(frozen=True)
class EngineOptions:
    """How to load: the model (catalog id or path), CPU threads, and engine-specific extras."""

    model: str
    threads: int = 1
    extra: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Engine(Protocol):
    """A loaded model that the worker serves. Only the methods named in `capabilities` are called."""

    model_id: str
    capabilities: frozenset[Capability]
    max_model_len: int
    dimensions: int  # embedding width; 0 for engines without embeddings

    def load(self) -> None:
        """Load the weights; raises `EngineUnavailable` naming the extra or package to install."""

    def chat(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[GenerationEvent]:
        """Generate a chat reply with the model's own chat template; ends with one `Finish`."""

    def complete(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[GenerationEvent]:
        """Continue a raw prompt; ends with one `Finish`."""

    def embed(
        self, texts: Sequence[str], *, normalize: bool = True, input_type: str | None = None
    ) -> Embeddings:
        """Embed texts; `input_type` ("query" / "passage") matters only to asymmetric models."""

    def rerank(self, query: str, documents: Sequence[str]) -> RerankScores:
        """Score each document's relevance to the query (higher is more relevant)."""

    def tokenize(
        self, prompt: str | None, messages: Sequence[dict[str, Any]] | None, tools: Sequence[dict[str, Any]] = ()
    ) -> list[int]:
        """Token ids of a prompt, or of messages (and the tools offered) rendered with the chat template."""


@runtime_checkable
class ConcurrentEngine(Protocol):
    """An engine whose generation calls may run on several threads at once (it batches them itself)."""

    @property
    def concurrency(self) -> int:
        """How many generation calls may run at once."""


@runtime_checkable
class BatchReranker(Protocol):
    """An engine that scores several rerank requests in one pass (cheaper than one at a time)."""

    def rerank_batch(self, requests: Sequence[tuple[str, Sequence[str]]]) -> list[RerankScores]:
        """One `RerankScores` per (query, documents) request, in order."""
