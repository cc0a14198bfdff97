"""`llama.cpp`: GGUF models through llama-cpp-python: chat, completions, embeddings, rerank.

Chat prompts are rendered with the GGUF's own chat template (`tokenizer.chat_template`). Generation runs
on a `BatchedDecoder` (`engines.llamacpp_decoder`): up to `parallel` sequences decode together, a new one
joins at the next step, and each sequence's slot keeps its KV cells afterwards, so a prompt sharing a long
prefix with an earlier one is not recomputed. Streaming and non-streaming share one path (identical text at
temperature 0), token counts are exact, and a cancel (a stop string, a client gone) frees the slot at once.

Engine args (`ENGINE_ARGS["llama.cpp"]` in `engines.args`): `n_ctx` (default: the model's training
context, at most `DEFAULT_MAX_CONTEXT`; 0: the training context whatever its size), `n_batch`,
`parallel` (sequences decoded together, each with a KV cache of the whole context), `max_tokens` (the output
cap of a request that sets none; otherwise it may run to the end of the context), `temperature` and `top_p`
(the sampling of a request that sets none, like Ollama's Modelfile parameters), `embedding=true` for embedding
GGUFs, `pooling=mean|cls|last` for those, `pooling=rank` for reranker GGUFs (cross-encoders such as
bge-reranker-v2-m3 converted to GGUF: the query/document pair goes through the model and its
classification head gives the score). The rank path cannot be tested here: no reranker GGUF is
installable on this machine.

Tools, tool-call history and prefill are rendered by `engines.chat_prompt`; a forced `tool_choice` is
generated under a grammar and turned into tool-call events by `engines.tool_calls`.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from modelport.engines.args import DEFAULT_MAX_CONTEXT, parse_engine_args
from modelport.engines.base import (
    Capability,
    ContextLengthExceeded,
    Embeddings,
    EngineOptions,
    EngineUnavailable,
    Finish,
    GenerationEvent,
    GenerationRequest,
    InvalidEngineInput,
    RerankScores,
    TextDelta,
)
from modelport.engines.catalog import load_model_path
from modelport.engines.chat_prompt import ChatTemplate
from modelport.engines.grammars import response_grammar, tool_grammar
from modelport.engines.llamacpp_decoder import BatchedDecoder, Generation
from modelport.engines.llamacpp_sampling import Sampling
from modelport.engines.llamacpp_weights import weights_path
from modelport.engines.registry import install_hint
from modelport.engines.textgen import StopBuffer
from modelport.engines.tool_calls import auto_events, forced_events


class LlamaCppEngine:
    """One GGUF model: generation on a batched decoder (thread-safe), embeddings and rerank serialised."""

    def __init__(self, options: EngineOptions) -> None:
        self.model_id = options.model
        self.threads = options.threads
        args = parse_engine_args("llama.cpp", options.extra)
        self.n_ctx: int | None = args["n_ctx"]  # None: the training context, at most DEFAULT_MAX_CONTEXT
        self.n_batch: int = args["n_batch"]
        self.pooling: str | None = args["pooling"]
        self.rank = self.pooling == "rank"
        self.embedding = bool(args["embedding"]) or (self.pooling is not None and not self.rank)
        self.capabilities: frozenset[Capability] = frozenset()
        self.max_model_len = self.n_ctx or DEFAULT_MAX_CONTEXT
        self.dimensions = 0
        self.parallel: int = args["parallel"]
        self.kv_type: str = args["kv_type"]
        self.weights_type: str = args["weights_type"]
        self.default_max_tokens: int | None = args["max_tokens"]
        self.default_temperature: float = args["temperature"]
        self.default_top_p: float = args["top_p"]
        self.decoder: BatchedDecoder | None = None
        self._llama: Any = None
        self._template: ChatTemplate | None = None

    def load(self) -> None:
        """Load the GGUF with `threads` threads and set capabilities from what the file offers."""
        try:
            import llama_cpp
        except ImportError as exc:
            raise EngineUnavailable(install_hint("llama.cpp")) from exc
        path = weights_path(load_model_path(self.model_id), self.weights_type, self.threads)
        if self.embedding or self.rank:
            self._llama = self._open(llama_cpp, str(path), DEFAULT_MAX_CONTEXT if self.n_ctx is None else self.n_ctx)
            trained = int(self._llama._model.n_ctx_train())
            if self.n_ctx is None and trained < DEFAULT_MAX_CONTEXT:  # never beyond what the model was trained on
                self._llama.close()
                self._llama = self._open(llama_cpp, str(path), trained)
            self.max_model_len = self._llama.n_ctx()
        else:  # the Llama only tokenizes; the decoder has the context, sized for its sequences
            self._llama = self._open(llama_cpp, str(path), 16)
            trained = int(self._llama._model.n_ctx_train())
            self.max_model_len = min(trained, DEFAULT_MAX_CONTEXT) if self.n_ctx is None else self.n_ctx or trained
            self.decoder = self._decoder()
        self.dimensions = self._llama.n_embd()
        self.capabilities = self._detect_capabilities()

    def _decoder(self) -> BatchedDecoder:
        return BatchedDecoder(
            self._llama._model, n_ctx=self.max_model_len, parallel=self.parallel, n_batch=self.n_batch,
            threads=self.threads, piece=lambda t: self._llama.detokenize([t]), kv_type=self.kv_type,
        )  # fmt: skip

    @property
    def concurrency(self) -> int:
        """Generation calls that may run at once: the decoder's slots (1 for embedding and rank models)."""
        return self.decoder.parallel if self.decoder is not None else 1

    def close(self) -> None:
        """Stop the decoder's thread (ending its sequences) and free the model."""
        if self.decoder is not None:
            self.decoder.close()
        if self._llama is not None:
            self._llama.close()

    def _open(self, llama_cpp: Any, path: str, n_ctx: int) -> Any:
        """A `Llama` on `path` with an `n_ctx`-token context (0: the model's training context)."""
        kwargs: dict[str, Any] = {}
        if self.pooling is not None:
            kwargs["pooling_type"] = getattr(llama_cpp, f"LLAMA_POOLING_TYPE_{self.pooling.upper()}")
        pooled = self.embedding or self.rank  # non-causal: a whole input must fit one micro-batch
        n_batch = self.n_batch if pooled else min(n_ctx, self.n_batch)
        return llama_cpp.Llama(
            model_path=path,
            n_ctx=n_ctx,
            n_batch=n_batch,
            n_ubatch=n_batch if pooled else min(n_batch, 512),
            n_threads=self.threads,
            n_threads_batch=self.threads,
            embedding=pooled,
            verbose=False,
            **kwargs,
        )

    def _detect_capabilities(self) -> frozenset[Capability]:
        if self.rank:
            return frozenset({Capability.RERANK, Capability.TOKENIZE})
        if self.embedding:
            return frozenset({Capability.EMBEDDINGS, Capability.TOKENIZE})
        caps = {Capability.COMPLETIONS, Capability.TOKENIZE}
        template = self._llama.metadata.get("tokenizer.chat_template")
        if template:
            model = self._llama._model
            self._template = ChatTemplate(
                template,
                bos_token=model.token_get_text(self._llama.token_bos()),
                eos_token=model.token_get_text(self._llama.token_eos()),
            )
            caps.add(Capability.CHAT)
        return frozenset(caps)

    # ---- tokens ---------------------------------------------------------------------------------

    def _chat_tokens(self, messages: Sequence[dict[str, Any]], request: GenerationRequest | None = None) -> list[int]:
        if self._template is None:
            raise InvalidEngineInput("this model has no chat template", "messages")
        tools = request.tools if request is not None and request.tool_choice != "none" else ()
        rendered = self._template.render(
            messages, tools,
            forced=request.tool_name if request is not None else None,
            continue_final=request.continue_final if request is not None else None,
        )  # fmt: skip
        return list(self._llama.tokenize(rendered.encode("utf-8"), add_bos=False, special=True))

    def tokenize(
        self, prompt: str | None, messages: Sequence[dict[str, Any]] | None, tools: Sequence[dict[str, Any]] = ()
    ) -> list[int]:
        """Prompt tokens (with BOS as generation adds it), or chat messages (and tools) through the template."""
        if messages is not None:
            return self._chat_tokens(messages, GenerationRequest(messages=tuple(messages), tools=tuple(tools)))
        return list(self._llama.tokenize((prompt or "").encode("utf-8"), add_bos=True, special=False))

    # ---- generation -----------------------------------------------------------------------------

    def chat(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[GenerationEvent]:
        """Chat through the GGUF's chat template, with tools, tool-call history and prefill."""
        prompt = self._chat_tokens(request.messages or (), request)
        names = [t["function"]["name"] for t in request.tools]
        if not request.tools or request.tool_choice == "none":
            return self._generate(prompt, request, cancel, response_grammar(request.response_format))
        if request.tool_choice in ("required", "function"):
            grammar = tool_grammar(request.tools, request.tool_name)
            return forced_events(self._generate(prompt, request, cancel, grammar, stops=False), names)
        return auto_events(self._generate(prompt, request, cancel, response_grammar(request.response_format)), names)

    def complete(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[GenerationEvent]:
        """Raw completion of `request.prompt`."""
        grammar = response_grammar(request.response_format)
        return self._generate(self.tokenize(request.prompt or "", None), request, cancel, grammar)

    def _generate(
        self, prompt: list[int], request: GenerationRequest, cancel: threading.Event, grammar: str | None,
        stops: bool = True,
    ) -> Iterator[GenerationEvent]:  # fmt: skip
        budget = self.max_model_len - len(prompt)
        if budget <= 0:
            raise ContextLengthExceeded(len(prompt), self.max_model_len)
        if self.decoder is None:
            raise InvalidEngineInput("this model is loaded for embeddings; it does not generate", "model")
        sampling = Sampling(
            temperature=self.default_temperature if request.temperature is None else request.temperature,
            top_p=self.default_top_p if request.top_p is None else request.top_p,
            seed=request.seed if request.seed is not None else random.getrandbits(31),
            frequency_penalty=request.frequency_penalty, presence_penalty=request.presence_penalty,
            grammar=grammar, top_logprobs=request.top_logprobs if request.logprobs else None,
        )  # fmt: skip
        limit = min(request.max_tokens or self.default_max_tokens or budget, budget)
        generation = self.decoder.prepare(prompt, limit, sampling, cancel)
        return self._token_loop(self.decoder, generation, request.stop if stops else ())

    def _token_loop(
        self, decoder: BatchedDecoder, generation: Generation, stop: Sequence[str]
    ) -> Iterator[GenerationEvent]:
        """Text events of `generation`; it starts decoding at the first `next()` (a generator never
        iterated costs nothing)."""
        decoder.start(generation)
        stops = StopBuffer(stop)
        count, hit_stop = 0, False
        try:
            for token, logprob in generation:
                count += 1
                text, hit_stop = stops.push_bytes(self._llama.detokenize([token]))
                if text or logprob is not None:
                    yield TextDelta(text=text, n_tokens=1, logprobs=(logprob,) if logprob is not None else ())
                if hit_stop:
                    break
        finally:
            generation.abandon()  # the decoder frees the slot at its next step (a no-op once it ended)
        reason = "stop" if hit_stop else generation.finish_reason
        rest = "" if hit_stop or reason == "cancelled" else stops.flush()
        if rest:
            yield TextDelta(text=rest, n_tokens=0)
        yield Finish(reason, generation.prompt_len, count, stop_reason=stops.matched)

    # ---- embeddings and rerank ------------------------------------------------------------------

    def embed(
        self, texts: Sequence[str], *, normalize: bool = True, input_type: str | None = None
    ) -> Embeddings:
        """Pooled embeddings of an embedding GGUF (loaded with `embedding=true`).

        A GGUF without pooling gives one vector per token, which we mean-pool; llama-cpp-python returns
        wrong token rows for every sequence but the first of a multi-sequence batch then, so such a model
        embeds one text per call (a pooled one, e.g. `pooling=mean`, embeds them all in one).
        """
        import llama_cpp
        import numpy as np

        llama = self._llama
        if llama_cpp.llama_pooling_type(llama._ctx.ctx) == llama_cpp.LLAMA_POOLING_TYPE_NONE:
            vectors = [llama.embed([text], normalize=False)[0] for text in texts]
        else:
            vectors = llama.embed(list(texts), normalize=False)
        counts = tuple(min(len(llama.tokenize(t.encode("utf-8"))), llama.n_batch) for t in texts)
        rows = []
        for vector in vectors:
            row = np.asarray(vector, dtype=np.float32)
            if row.ndim == 2:  # a GGUF without pooling gives one vector per token: mean-pool them
                row = row.mean(axis=0)
            if normalize:
                row = row / max(float(np.linalg.norm(row)), 1e-12)
            rows.append(row)
        return Embeddings(vectors=np.stack(rows), prompt_tokens=sum(counts), input_tokens=counts)

    def rerank(self, query: str, documents: Sequence[str]) -> RerankScores:
        """Cross-encoder scores from a reranker GGUF (rank pooling), one pair per sequence."""
        import llama_cpp

        llama = self._llama
        pairs = [self._rank_pair(query, doc) for doc in documents]
        scores: list[float] = []
        for tokens in pairs:
            if len(tokens) > llama.n_batch:
                raise InvalidEngineInput(
                    f"query + document is {len(tokens)} tokens; the limit is {llama.n_batch}"
                )
            llama._batch.reset()
            llama._batch.add_sequence(tokens, 0, True)
            llama._ctx.kv_cache_clear()
            llama._ctx.decode(llama._batch)
            scores.append(float(llama_cpp.llama_get_embeddings_seq(llama._ctx.ctx, 0)[0]))
        llama._batch.reset()
        llama._ctx.kv_cache_clear()
        llama.reset()
        return RerankScores(scores=scores, prompt_tokens=sum(len(p) for p in pairs))

    def _rank_pair(self, query: str, document: str) -> list[int]:
        """Tokens of one pair: the GGUF's rerank template if it has one, else BOS q EOS SEP d EOS."""
        llama = self._llama
        template = llama.metadata.get("tokenizer.chat_template.rerank")
        if template:
            text = template.replace("{query}", query).replace("{document}", document)
            return list(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))
        q = llama.tokenize(query.encode("utf-8"), add_bos=False, special=False)
        d = llama.tokenize(document.encode("utf-8"), add_bos=False, special=False)
        eos, sep = llama.token_eos(), llama._model.token_sep()
        return [llama.token_bos(), *q, eos, sep, *d, eos]
