"""Sampler chains for llama.cpp sequences: what one request asks (temperature, top-p, seed, grammar)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelport.engines.base import InvalidEngineInput


@dataclass(frozen=True)
class Sampling:
    """How one sequence picks its tokens. `top_logprobs`: None for no logprobs at all."""

    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 0
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    grammar: str | None = None  # GBNF, root rule `root`
    top_logprobs: int | None = None


def new_sampler(vocab: Any, n_vocab: int, sampling: Sampling) -> Any:
    """A sampler chain for `sampling`; the grammar first, so every candidate obeys it."""
    import llama_cpp

    chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
    parts: list[Any] = []
    if sampling.grammar:
        grammar = llama_cpp.llama_sampler_init_grammar(vocab, sampling.grammar.encode(), b"root")
        if not grammar:
            llama_cpp.llama_sampler_free(chain)
            raise InvalidEngineInput("the grammar for this request could not be compiled", "response_format")
        parts.append(grammar)
    if sampling.frequency_penalty or sampling.presence_penalty:
        parts.append(llama_cpp.llama_sampler_init_penalties(
            n_vocab, 64, 1.0, sampling.frequency_penalty, sampling.presence_penalty
        ))  # fmt: skip
    if sampling.temperature <= 0:
        parts.append(llama_cpp.llama_sampler_init_greedy())
    else:
        parts += [
            llama_cpp.llama_sampler_init_top_k(40),
            llama_cpp.llama_sampler_init_top_p(sampling.top_p, 1),
            llama_cpp.llama_sampler_init_min_p(0.05, 1),
            llama_cpp.llama_sampler_init_temp(sampling.temperature),
            llama_cpp.llama_sampler_init_dist(sampling.seed & 0xFFFFFFFF),
        ]
    for part in parts:
        llama_cpp.llama_sampler_chain_add(chain, part)
    return chain
