"""`llama.cpp`: GGUF models through llama-cpp-python: chat, completions, embeddings, rerank.

Chat prompts are rendered with the GGUF's own chat template (`tokenizer.chat_template`). Generation is
our own token loop over `Llama.generate`, so streaming and non-streaming share one path (identical text
at temperature 0), token counts are exact, and a cancel flag is checked between tokens.

Engine args (`ENGINE_ARGS["llama.cpp"]` in `engines.args`): `n_ctx` (default: the model's training
context, at most `DEFAULT_MAX_CONTEXT`; 0: the training context whatever its size), `n_batch`,
`embedding=true` for embedding GGUFs, `pooling=mean|cls|last` for those, `pooling=rank` for reranker
GGUFs (cross-encoders such as bge-reranker-v2-m3 converted to GGUF: the query/document pair goes through
the model and its classification head gives the score). The rank path cannot be tested here: no reranker
GGUF is installable on this machine. `prompt_cache_mb` (default 256, 0 off) keeps saved states of recent
prompts so a long shared prefix is not recomputed (`engines.prompt_cache`).

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
from modelport.engines.prompt_cache import PromptCache
from modelport.engines.textgen import StopBuffer, token_logprob
from modelport.engines.tool_calls import auto_events, forced_events

INSTALL_HINT = (
    "engine 'llama.cpp' needs llama-cpp-python: run scripts/install-engines (it builds with the CPU flags"
    " this machine needs) or pip install 'modelport[llamacpp]'"
)


class LlamaCppEngine:
    """One GGUF model in a llama.cpp context; not re-entrant (the worker serialises calls)."""

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
        self.prompt_cache = PromptCache(int(args["prompt_cache_mb"]) << 20)
        self._llama: Any = None
        self._template: ChatTemplate | None = None

    def load(self) -> None:
        """Load the GGUF with `threads` threads and set capabilities from what the file offers."""
        try:
            import llama_cpp
        except ImportError as exc:
            raise EngineUnavailable(INSTALL_HINT) from exc
        path = load_model_path(self.model_id)
        self._llama = self._open(llama_cpp, str(path), DEFAULT_MAX_CONTEXT if self.n_ctx is None else self.n_ctx)
        trained = int(self._llama._model.n_ctx_train())
        if self.n_ctx is None and trained < DEFAULT_MAX_CONTEXT:  # never beyond what the model was trained on
            self._llama.close()
            self._llama = self._open(llama_cpp, str(path), trained)
        self.max_model_len = self._llama.n_ctx()
        self.dimensions = self._llama.n_embd()
        self.capabilities = self._detect_capabilities()

    def _open(self, llama_cpp: Any, path: str, n_ctx: int) -> Any:
        """A `Llama` on `path` with an `n_ctx`-token context (0: the model's training context)."""
        kwargs: dict[str, Any] = {}
        if self.pooling is not None:
            kwargs["pooling_type"] = getattr(llama_cpp, f"LLAMA_POOLING_TYPE_{self.pooling.upper()}")
        pooled = self.embedding or self.rank  # non-causal: a whole input must fit one micro-batch
        return llama_cpp.Llama(
            model_path=path,
            n_ctx=n_ctx,
            n_batch=self.n_batch,
            n_ubatch=self.n_batch if pooled else min(self.n_batch, 512),
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

    def tokenize(self, prompt: str | None, messages: Sequence[dict[str, Any]] | None) -> list[int]:
        """Prompt tokens (with BOS as generation adds it), or chat messages through the template."""
        if messages is not None:
            return self._chat_tokens(messages)
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
        self, prompt: list[int], request: GenerationRequest, cancel: threading.Event, grammar: Any,
        stops: bool = True,
    ) -> Iterator[GenerationEvent]:  # fmt: skip
        budget = self.max_model_len - len(prompt)
        if budget <= 0:
            raise InvalidEngineInput(
                f"the prompt has {len(prompt)} tokens; this model's context holds {self.max_model_len}"
                " (the deployment's engine arg n_ctx)"
            )
        limit = min(request.max_tokens or budget, budget)
        return self._token_loop(prompt, request, cancel, grammar, limit, request.stop if stops else ())

    def _token_loop(
        self, prompt: list[int], request: GenerationRequest, cancel: threading.Event, grammar: Any, limit: int,
        stop: Sequence[str],
    ) -> Iterator[GenerationEvent]:  # fmt: skip
        llama = self._llama
        llama.set_seed(request.seed if request.seed is not None else random.getrandbits(31))
        stops = StopBuffer(stop)
        self.prompt_cache.restore(llama, prompt)
        tokens = llama.generate(
            prompt, top_k=40, top_p=request.top_p, min_p=0.05, temp=request.temperature,
            repeat_penalty=1.0, frequency_penalty=request.frequency_penalty,
            presence_penalty=request.presence_penalty, grammar=grammar,
        )  # fmt: skip
        count, reason, hit_stop = 0, "length", False
        try:
            for token in tokens:
                if cancel.is_set():
                    reason = "cancelled"
                    break
                if self._eog(token):
                    reason = "stop"
                    break
                count += 1
                logprobs = (self._logprob(token, request.top_logprobs),) if request.logprobs else ()
                text, stopped = stops.push_bytes(llama.detokenize([token]))
                if text or logprobs:
                    yield TextDelta(text=text, n_tokens=1, logprobs=logprobs)
                if stopped:
                    reason, hit_stop = "stop", True
                    break
                if count >= limit:
                    break
        finally:
            tokens.close()
            self.prompt_cache.save(llama)
        rest = "" if hit_stop or reason == "cancelled" else stops.flush()
        if rest:
            yield TextDelta(text=rest, n_tokens=0)
        yield Finish(reason, len(prompt), count, stop_reason=stops.matched)

    def _eog(self, token: int) -> bool:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self._llama._model.vocab, token))

    def _logprob(self, token: int, top_n: int) -> Any:
        import numpy as np

        llama = self._llama
        row = np.ctypeslib.as_array(llama._ctx.get_logits_ith(-1), shape=(llama.n_vocab(),))
        return token_logprob(row, token, top_n, lambda t: llama.detokenize([t]))

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
