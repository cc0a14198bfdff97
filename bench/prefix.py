"""engine-prefix: time to first token of a prompt whose ~1,500-token prefix the engine has seen before.

Each round builds a fresh ~1,500-token system prompt (a salt at its start, so nothing is shared with earlier
rounds) and sends, one at a time, with `max_tokens: 1` (the time is the prompt's evaluation plus one token):
`first` (a question on that prefix: all of it computed), `second` (another question, same prefix: the
slot's own prefix reuse), `other` (a different prefix, which takes another slot), then `back` (the first
prefix again: its slot kept the cells).
Figures are medians over rounds, in ms; `ratio` is second / first, `back_ratio` back / first, and `rate`
first / second (how many times faster the second request starts).
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from bench.engines import CHAT_MODEL, chat_engine

QUESTIONS = ("What is rule 7 about?", "Summarise rule 12.", "Which rule mentions topic 30?")


def system_prompt(salt: str, rules: int = 60) -> str:
    """A long, deterministic system prompt (about 25 tokens a rule) that starts with `salt`."""
    lines = [f"Session {salt}. You are a support assistant. Follow these rules exactly."]
    lines += [f"Rule {i}: when the user asks about topic {i}, answer in one sentence and cite section {i * 3}."
              for i in range(1, rules + 1)]
    return "\n".join(lines)


def _messages(prefix: str, question: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": prefix}, {"role": "user", "content": question}]


def _round(ask: Callable[[list[dict[str, str]]], None]) -> dict[str, float]:
    first, other = system_prompt(uuid.uuid4().hex[:8]), system_prompt(uuid.uuid4().hex[:8])
    times: dict[str, float] = {}
    for name, prefix, question in (("first", first, QUESTIONS[0]), ("second", first, QUESTIONS[1]),
                                   ("other", other, QUESTIONS[0]), ("back", first, QUESTIONS[2])):
        started = time.perf_counter()
        ask(_messages(prefix, question))
        times[name] = (time.perf_counter() - started) * 1000
    return times


def measure(ask: Callable[[list[dict[str, str]]], None], rounds: int) -> dict[str, float]:
    """Medians of `rounds` rounds (after one short warm-up request), and the ratios."""
    ask(_messages("You are brief.", "Hi"))
    runs = [_round(ask) for _ in range(rounds)]
    result = {f"{name}_ms": statistics.median(r[name] for r in runs) for name in runs[0]}
    result["ratio"] = result["second_ms"] / result["first_ms"]
    result["back_ratio"] = result["back_ms"] / result["first_ms"]
    result["rate"] = result["first_ms"] / result["second_ms"]
    return {**result, "rounds": rounds}


def direct(rounds: int) -> dict[str, float]:
    """The engine in this process (1 thread), as the worker loads it."""
    from modelport.engines.base import GenerationRequest

    llm = chat_engine()
    tokens = len(llm.tokenize(None, _messages(system_prompt("x"), QUESTIONS[0])))

    def ask(messages: list[dict[str, str]]) -> None:
        request = GenerationRequest(messages=tuple(messages), max_tokens=1, temperature=0.0)
        list(llm.chat(request, threading.Event()))

    return {**measure(ask, rounds), "prompt_tokens": tokens}


def gateway(rounds: int, url: str, key: str) -> dict[str, float]:
    """The same requests to the gateway over one keep-alive connection."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=300)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}

    def ask(messages: list[dict[str, str]]) -> None:
        body = json.dumps({"model": CHAT_MODEL, "messages": messages, "max_tokens": 1, "temperature": 0})
        conn.request("POST", parts.path + "/chat/completions", body=body, headers=headers)
        reply = conn.getresponse()
        data = reply.read()
        if reply.status != 200:
            raise RuntimeError(f"HTTP {reply.status}: {data[:300]!r}")

    try:
        return measure(ask, rounds)
    finally:
        conn.close()
