"""Built-in engine throughput: the library called in-process ("direct") vs the same model through the gateway.

Both sides run the same work one request at a time for a fixed time and print a JSON summary:
- chat: SmolLM2-135M-Instruct (llama.cpp, 1 thread), one prompt, greedy, `max_tokens` tokens → tokens/s;
- embed: all-MiniLM-L6-v2 (ONNX int8, 1 thread), 32 sentences per call → embeddings/s;
- speech: piper (joe voice) speaking a paragraph as PCM → seconds of audio made per second (1 / real-time factor);
- transcribe: Whisper tiny.en transcribing that paragraph's speech (WAV) → seconds of audio heard per second;
- embed-concurrency: one sentence per request to all-MiniLM-L6-v2 through the gateway, at concurrency 1, 16
  and 64 in turn (the worker batches concurrent requests) → sentences/s at 64 (`rate`) and at each level, and
  failed requests; "direct" is the in-process batch-32 call of `embed`;
- chat-prefix: first-token times of requests sharing a ~1,500-token prefix (`bench.prefix`): one round per
  30 s of `--seconds` (at least one);
- chat-concurrency: chat tokens/s and first-token times at concurrency 1, 4, 8, 16 (`bench.chat_concurrency`);
  its `serial` mode is the engine with one slot, as built-in engines were before continuous batching, and
  `shipped` the engine on the GGUF's own Q4_1 weights (the default runs a Q8_0 copy);
- rerank-concurrency: 16 clients sending 10-document rerank requests (`bench.rerank_concurrency`).

Run: `python -m bench.engines direct --task chat` or
`python -m bench.engines gateway --task chat --url http://127.0.0.1:8080/v1 --key KEY`.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import io
import json
import os
import threading
import time
import wave
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from modelport.engines.llamacpp import LlamaCppEngine

CHAT_MODEL = "smollm2-135m-instruct"
EMBED_MODEL = "all-minilm-l6-v2"
SPEECH_MODEL = "piper-en-us-joe"
STT_MODEL = "whisper-tiny-en"
PARAGRAPH = ("The quick brown fox jumps over the lazy dog. Please call me back after lunch tomorrow. "
             "Several large boxes arrived at the station this morning.")
MESSAGES = ({"role": "user", "content": "Write a short paragraph about the history of the bicycle."},)
MAX_TOKENS = 64
BATCH = tuple(
    f"Sentence number {i}: the quick brown fox jumps over the lazy dog near the river bank." for i in range(32)
)


def _timed(work: Callable[[], int], seconds: float, warmup: int = 1) -> dict[str, float]:
    """Call `work` (returns units done) until `seconds` pass; rate in units per second."""
    for _ in range(warmup):
        work()
    units, calls = 0, 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        units += work()
        calls += 1
    elapsed = time.perf_counter() - started
    return {"units": units, "calls": calls, "seconds": elapsed, "rate": units / elapsed}


def chat_engine(extra: dict[str, str] | None = None) -> LlamaCppEngine:
    """The chat model's llama.cpp engine in this process, loaded, 1 thread, with the engine args a worker
    would get: `extra` over the catalog entry's defaults."""
    from modelport.engines.base import EngineOptions
    from modelport.engines.catalog import engine_args_of
    from modelport.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(EngineOptions(model=CHAT_MODEL, threads=1, extra=engine_args_of(CHAT_MODEL, extra or {})))
    engine.load()
    return engine


def direct(task: str, seconds: float, audio: str | None = None) -> dict[str, float]:
    """The engine class in this process, exactly as the worker loads it."""
    from modelport.engines.base import EngineOptions, Finish, GenerationRequest

    if task == "chat":
        llm = chat_engine()
        request = GenerationRequest(messages=MESSAGES, max_tokens=MAX_TOKENS, temperature=0.0, seed=0)

        def generate() -> int:
            events = list(llm.chat(request, threading.Event()))
            return next(e.completion_tokens for e in events if isinstance(e, Finish))

        return _timed(generate, seconds)
    if task in ("speech", "transcribe"):
        return _direct_media(task, seconds, audio)
    from modelport.engines.onnx_embeddings import OnnxEmbeddingEngine

    embedder = OnnxEmbeddingEngine(EngineOptions(model=EMBED_MODEL, threads=1))
    embedder.load()
    return _timed(lambda: len(embedder.embed(list(BATCH)).vectors), seconds)


def _speaker() -> tuple[Any, Any]:
    from modelport.engines.base import EngineOptions
    from modelport.engines.media import SpeechRequest
    from modelport.engines.piper_tts import PiperEngine

    engine = PiperEngine(EngineOptions(model=SPEECH_MODEL, threads=1))
    engine.load()
    return engine, SpeechRequest(text=PARAGRAPH, voice=engine.voices[0])


def paragraph_wav(path: str | None = None) -> tuple[bytes, float]:
    """The paragraph spoken by piper, as a WAV file, and its length in seconds.

    Piper samples its noise afresh in every process, so the same text takes a slightly different time to
    transcribe each run: with `path`, the first caller saves the WAV there and later callers reuse it, which
    gives "direct" and "gateway" the very same audio.
    """
    if path and os.path.exists(path):
        with open(path, "rb") as saved:
            audio = saved.read()
        with wave.open(io.BytesIO(audio)) as heard:
            return audio, heard.getnframes() / heard.getframerate()
    engine, request = _speaker()
    pcm = b"".join(engine.speak(request, threading.Event()))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(engine.sample_rate)
        out.writeframes(pcm)
    if path:
        with open(path, "wb") as saved:
            saved.write(buffer.getvalue())
    return buffer.getvalue(), len(pcm) / 2 / engine.sample_rate


def _direct_media(task: str, seconds: float, audio_path: str | None) -> dict[str, float]:
    if task == "speech":
        engine, request = _speaker()

        def speak() -> float:
            return sum(len(c) for c in engine.speak(request, threading.Event())) / 2 / engine.sample_rate

        return _timed(speak, seconds)  # type: ignore[arg-type]
    from modelport.engines.base import EngineOptions
    from modelport.engines.media import TranscriptionRequest
    from modelport.engines.whisper import WhisperEngine

    audio, length = paragraph_wav(audio_path)
    listener = WhisperEngine(EngineOptions(model=STT_MODEL, threads=1))
    listener.load()
    heard = TranscriptionRequest(audio=audio)

    def transcribe() -> float:
        listener.transcribe(heard, threading.Event())
        return length

    return _timed(transcribe, seconds)  # type: ignore[arg-type]


def _post(conn: http.client.HTTPConnection, path: str, body: str | bytes, headers: dict[str, str]) -> bytes:
    """POST over the kept-alive connection; the answer's body, or RuntimeError when it is not a 200."""
    conn.request("POST", path, body=body, headers=headers)
    reply = conn.getresponse()
    data = reply.read()
    if reply.status != 200:
        raise RuntimeError(f"HTTP {reply.status}: {data[:300]!r}")
    return data


def _media_call(task: str, conn: http.client.HTTPConnection, base: str, headers: dict[str, str],
                audio_path: str | None) -> Callable[[], float]:
    if task == "speech":
        body = json.dumps({"model": SPEECH_MODEL, "voice": "alloy", "input": PARAGRAPH, "response_format": "pcm"})

        def speak() -> float:
            return len(_post(conn, base + "/audio/speech", body, headers)) / 2 / 22050
        return speak
    audio, length = paragraph_wav(audio_path)
    boundary = "benchboundary"
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n{STT_MODEL}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
            "Content-Type: audio/wav\r\n\r\n").encode() + audio + f"\r\n--{boundary}--\r\n".encode()
    form_headers = {**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}

    def transcribe() -> float:
        _post(conn, base + "/audio/transcriptions", form, form_headers)
        return length
    return transcribe


def gateway(task: str, seconds: float, url: str, key: str, audio: str | None = None) -> dict[str, float]:
    """The same work as JSON requests to the gateway over one keep-alive connection."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=300)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    if task in ("speech", "transcribe"):
        try:
            return _timed(_media_call(task, conn, parts.path, headers, audio), seconds)  # type: ignore[arg-type]
        finally:
            conn.close()
    if task == "chat":
        path = parts.path + "/chat/completions"
        body = json.dumps({"model": CHAT_MODEL, "messages": list(MESSAGES), "max_tokens": MAX_TOKENS,
                           "temperature": 0, "seed": 0})
    else:
        path = parts.path + "/embeddings"
        body = json.dumps({"model": EMBED_MODEL, "input": list(BATCH)})

    def call() -> int:
        data = json.loads(_post(conn, path, body, headers))
        return int(data["usage"]["completion_tokens"]) if task == "chat" else len(data["data"])

    try:
        return _timed(call, seconds)
    finally:
        conn.close()


CONCURRENCY_LEVELS = (1, 16, 64)


async def _single_sentences(url: str, key: str, concurrency: int, seconds: float) -> tuple[int, int]:
    """(answered, failed) single-sentence embedding requests from `concurrency` clients for `seconds`."""
    import aiohttp

    headers = {"Authorization": f"Bearer {key}"}
    done, failed = 0, 0
    deadline = time.perf_counter() + seconds

    async def client(http: aiohttp.ClientSession, who: int) -> None:
        nonlocal done, failed
        sent = 0
        while time.perf_counter() < deadline:
            body = {"model": EMBED_MODEL, "input": BATCH[(who + sent) % len(BATCH)]}
            sent += 1
            async with http.post(url + "/embeddings", json=body) as reply:
                await reply.read()
                if reply.status == 200:
                    done += 1
                else:
                    failed += 1

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as http:
        await asyncio.gather(*(client(http, who) for who in range(concurrency)))
    return done, failed


def gateway_concurrency(seconds: float, url: str, key: str) -> dict[str, float]:
    """Single-sentence embeddings at each of `CONCURRENCY_LEVELS`; `rate` and `errors` are those at 64."""
    result: dict[str, float] = {}
    asyncio.run(_single_sentences(url, key, 4, 1.0))  # warm-up
    for level in CONCURRENCY_LEVELS:
        started = time.perf_counter()
        done, failed = asyncio.run(_single_sentences(url, key, level, seconds))
        elapsed = time.perf_counter() - started
        result[f"rate_c{level}"] = done / elapsed
        result[f"failed_c{level}"] = failed
    top = CONCURRENCY_LEVELS[-1]
    return {**result, "rate": result[f"rate_c{top}"], "errors": result[f"failed_c{top}"], "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("mode", choices=["direct", "serial", "shipped", "gateway"])
    parser.add_argument("--task", choices=["chat", "embed", "speech", "transcribe", "embed-concurrency",
                                           "chat-prefix", "chat-concurrency", "rerank-concurrency"], required=True)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--url", help="gateway base URL, ending in /v1")
    parser.add_argument("--key", help="gateway API key")
    parser.add_argument("--audio", help="transcribe: WAV to reuse (made by piper and saved there when missing)")
    args = parser.parse_args()
    if args.task == "rerank-concurrency":
        from bench import rerank_concurrency as rc

        result = rc.gateway(args.seconds, args.url, args.key) if args.mode == "gateway" else rc.direct(args.seconds)
    elif args.task == "chat-concurrency":
        from bench import chat_concurrency as cc

        if args.mode == "gateway":
            result = cc.gateway(args.seconds, args.url, args.key)
        else:
            result = cc.direct(args.seconds, parallel=1 if args.mode == "serial" else None,
                               weights_type="file" if args.mode == "shipped" else None)
    elif args.task == "chat-prefix":
        from bench import prefix

        rounds = max(1, int(args.seconds // 30))
        result = prefix.direct(rounds) if args.mode == "direct" else prefix.gateway(rounds, args.url, args.key)
    elif args.mode == "direct":  # embed-concurrency's reference is the in-process batch-32 call
        result = direct("embed" if args.task == "embed-concurrency" else args.task, args.seconds, args.audio)
    elif args.task == "embed-concurrency":
        result = gateway_concurrency(args.seconds, args.url, args.key)
    else:
        result = gateway(args.task, args.seconds, args.url, args.key, args.audio)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
