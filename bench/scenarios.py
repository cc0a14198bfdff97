"""The benchmark scenarios: what the load sends, how hard, and how the mock upstream answers."""

from __future__ import annotations

import json
from dataclasses import dataclass

CHAT_BODY = json.dumps({
    "model": "fake-model",
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Say hello in one short sentence, please."},
    ],
    "max_tokens": 64,
}, separators=(",", ":"))
STREAM_BODY = json.dumps({**json.loads(CHAT_BODY), "stream": True}, separators=(",", ":"))
EMBED_BODY = json.dumps({"model": "fake-model", "input": "The quick brown fox jumps over the lazy dog."},
                        separators=(",", ":"))
STREAM_CHUNKS = 64


@dataclass(frozen=True)
class Scenario:
    """One relay scenario against the mock upstream."""

    name: str
    title: str
    path: str  # under /v1
    body: str
    concurrency: int
    tool: str  # preferred load generator: "wrk" or "pyload"
    chunks: int = 0  # data events per stream; 0 for a JSON answer
    delay_ms: float = 0.0  # pause between stream events

    @property
    def stream(self) -> bool:
        return self.chunks > 0

    @property
    def relayed_chunks(self) -> int:
        """SSE events per response (the data events, then `[DONE]`)."""
        return self.chunks + 1 if self.chunks else 0


@dataclass(frozen=True)
class EngineScenario:
    """A built-in engine through the gateway vs the library called in-process."""

    name: str
    title: str
    task: str  # "chat", "embed", "speech" or "transcribe"


RELAY_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("chat-c1", "chat, non-streaming, concurrency 1", "/chat/completions", CHAT_BODY, 1, "wrk"),
    Scenario("chat-c64", "chat, non-streaming, concurrency 64", "/chat/completions", CHAT_BODY, 64, "wrk"),
    Scenario("stream-c1", "chat stream, 64 chunks burst, concurrency 1", "/chat/completions", STREAM_BODY, 1,
             "pyload", chunks=STREAM_CHUNKS),
    Scenario("stream-c64", "chat stream, 64 chunks burst, concurrency 64", "/chat/completions", STREAM_BODY, 64,
             "wrk", chunks=STREAM_CHUNKS),
    Scenario("stream-paced-c1", "chat stream, 64 chunks 1 ms apart, concurrency 1", "/chat/completions",
             STREAM_BODY, 1, "pyload", chunks=STREAM_CHUNKS, delay_ms=1.0),
    Scenario("stream-paced-c64", "chat stream, 64 chunks 1 ms apart, concurrency 64", "/chat/completions",
             STREAM_BODY, 64, "pyload", chunks=STREAM_CHUNKS, delay_ms=1.0),
    Scenario("embed-c64", "embeddings (1 input, 384 dims), concurrency 64", "/embeddings", EMBED_BODY, 64, "wrk"),
)

ENGINE_SCENARIOS: tuple[EngineScenario, ...] = (
    EngineScenario("engine-llama", "llama.cpp SmolLM2-135M chat, tokens/s (c=1)", "chat"),
    EngineScenario("engine-embed", "ONNX all-MiniLM-L6-v2 embeddings, batch 32 (c=1)", "embed"),
    EngineScenario("engine-speech", "piper speech, seconds of audio per second (c=1)", "speech"),
    EngineScenario("engine-transcribe", "Whisper tiny.en, seconds of audio per second (c=1)", "transcribe"),
    EngineScenario("engine-concurrency", "ONNX all-MiniLM-L6-v2, 1 sentence per request at c=64 (direct: batch 32)",
                   "embed-concurrency"),
    EngineScenario("engine-concurrency-chat", "llama.cpp SmolLM2-135M chat tokens/s at c=8 (and 1, 4, 16)",
                   "chat-concurrency"),
    EngineScenario("engine-concurrency-rerank", "e5 rerank, 16 concurrent 10-document requests: documents/s",
                   "rerank-concurrency"),
    EngineScenario("engine-prefix", "llama.cpp SmolLM2-135M, 2nd request on a seen ~1,500-token prefix: x faster",
                   "chat-prefix"),
)

SMOKE = Scenario("smoke-chat-c1", "smoke: chat, non-streaming, concurrency 1", "/chat/completions", CHAT_BODY, 1,
                 "pyload")

SYSTEMS = ("direct", "modelport", "modelport-w2", "litellm", "nginx")


def select(name: str) -> tuple[list[Scenario], list[EngineScenario]]:
    """The scenarios `--scenario NAME` asks for: `all`, `relay`, `engines`, or one name."""
    if name == "all":
        return list(RELAY_SCENARIOS), list(ENGINE_SCENARIOS)
    if name == "relay":
        return list(RELAY_SCENARIOS), []
    if name == "engines":
        return [], list(ENGINE_SCENARIOS)
    relay = [s for s in RELAY_SCENARIOS if s.name == name]
    engines = [s for s in ENGINE_SCENARIOS if s.name == name or s.name.startswith(name + "-")]
    if not relay and not engines:
        known = ", ".join([s.name for s in RELAY_SCENARIOS] + [s.name for s in ENGINE_SCENARIOS])
        raise ValueError(f"unknown scenario {name!r}; known: all, relay, engines, {known}")
    return relay, engines
