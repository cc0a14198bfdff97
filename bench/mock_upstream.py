"""A lean mock OpenAI upstream for benchmarks: raw asyncio protocol on uvloop, pre-rendered answers.

modelport's own fake upstream (`python -m modelport.testing`) is built for tests (aiohttp, recording,
controls) and would cap the direct row; this one only parses what it must (the request line, the
Content-Length, whether the body asks for a stream) and writes bytes rendered once at start-up.

Routes: POST /v1/chat/completions (JSON, or SSE when the body holds `"stream": true`), POST /v1/embeddings,
GET /v1/models (the gateway's health probe). Streams carry `--chunks` data events and `data: [DONE]`,
written back to back (`--delay-ms 0`) or paced `--delay-ms` apart; HTTP/1.1 keep-alive, chunked encoding.

Run: `python -m bench.mock_upstream --port 9000 [--chunks 64] [--delay-ms 1]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
from dataclasses import dataclass

MODEL = "fake-model"
_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_STREAM = re.compile(rb'"stream"\s*:\s*true')


def _response(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
        "connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def _chat_json() -> bytes:
    message = {"role": "assistant", "content": "Hello! This is a benchmark answer from the mock upstream."}
    return json.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": MODEL,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 11, "total_tokens": 23},
    }, separators=(",", ":")).encode()


def _embeddings_json(dimensions: int = 384) -> bytes:
    vector = [round(((i * 7919) % 1000) / 1000 - 0.5, 6) for i in range(dimensions)]
    return json.dumps({
        "object": "list", "model": MODEL,
        "data": [{"object": "embedding", "index": 0, "embedding": vector}],
        "usage": {"prompt_tokens": 8, "total_tokens": 8},
    }, separators=(",", ":")).encode()


def _models_json() -> bytes:
    card = {"id": MODEL, "object": "model", "created": 1700000000, "owned_by": "bench"}
    return json.dumps({"object": "list", "data": [card]}).encode()


def _chunked(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _sse_events(chunks: int) -> list[bytes]:
    """`chunks` chat.completion.chunk events (the last one carries finish_reason), then [DONE]."""
    head = f'{{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"{MODEL}",'
    events = []
    for index in range(chunks):
        last = index == chunks - 1
        delta = "{}" if last else json.dumps({"content": f"tok{index} "})
        finish = '"stop"' if last else "null"
        choice = f'"choices":[{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":{finish}}}]}}'
        events.append(b"data: " + (head + choice).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return [_chunked(event) for event in events]


@dataclass(frozen=True)
class Answers:
    """Every response, rendered once."""

    chat: bytes
    embeddings: bytes
    models: bytes
    not_found: bytes
    stream_head: bytes
    stream_events: tuple[bytes, ...]
    delay: float

    @classmethod
    def render(cls, chunks: int, delay_ms: float) -> Answers:
        stream_head = (
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n"
        )
        return cls(
            chat=_response("200 OK", _chat_json()),
            embeddings=_response("200 OK", _embeddings_json()),
            models=_response("200 OK", _models_json()),
            not_found=_response("404 Not Found", b'{"error":{"message":"not found","type":"not_found"}}'),
            stream_head=stream_head,
            stream_events=(*tuple(_sse_events(chunks)), b"0\r\n\r\n"),
            delay=delay_ms / 1000,
        )


class MockProtocol(asyncio.Protocol):
    """One client connection: parse requests off the buffer and answer them in order."""

    def __init__(self, answers: Answers) -> None:
        self._answers = answers
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._streaming = False
        self._pacer: asyncio.Future[None] | None = None  # the paced stream being written

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's is not an asyncio.Transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._streaming:
            self._drain()

    def _drain(self) -> None:
        """Answer every complete request in the buffer (stops while a paced stream is being written)."""
        while self._transport is not None and not self._streaming:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            match = _LENGTH.search(self._buffer, 0, end + 2)
            length = int(match.group(1)) if match else 0
            if len(self._buffer) < end + 4 + length:
                return
            head, body = self._buffer[:end], self._buffer[end + 4 : end + 4 + length]
            self._buffer = self._buffer[end + 4 + length :]
            self._answer(head, body)

    def _answer(self, head: bytes, body: bytes) -> None:
        transport, answers = self._transport, self._answers
        assert transport is not None
        line = head[: head.find(b"\r\n")] if b"\r\n" in head else head
        parts = line.split(b" ")
        path = parts[1].split(b"?")[0] if len(parts) > 1 else b""
        if path.endswith(b"/chat/completions"):
            if _STREAM.search(body):
                self._stream()
            else:
                transport.write(answers.chat)
        elif path.endswith(b"/embeddings"):
            transport.write(answers.embeddings)
        elif path.endswith(b"/models") or path.endswith(b"/health"):
            transport.write(answers.models)
        else:
            transport.write(answers.not_found)

    def _stream(self) -> None:
        transport, answers = self._transport, self._answers
        assert transport is not None
        if not answers.delay:
            transport.write(answers.stream_head)
            for event in answers.stream_events:  # one write per event: the relay sees them as they come
                transport.write(event)
            return
        self._streaming = True
        self._pacer = asyncio.ensure_future(self._paced())

    async def _paced(self) -> None:
        answers = self._answers
        events = answers.stream_events
        try:
            if self._transport is None:
                return
            self._transport.write(answers.stream_head + events[0])
            for event in events[1:-1]:
                await asyncio.sleep(answers.delay)
                if self._transport is None:
                    return
                self._transport.write(event)
            self._transport.write(events[-1])
        finally:
            self._streaming = False
        self._drain()


async def serve(host: str, port: int, answers: Answers) -> None:
    """Serve until SIGTERM/SIGINT."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: MockProtocol(answers), host, port, backlog=4096, reuse_address=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"mock upstream listening on http://{host}:{port}", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--chunks", type=int, default=64, help="data events per stream (then [DONE])")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="pause between stream events")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:  # plain asyncio still works, only slower
        asyncio.run(serve(args.host, args.port, Answers.render(args.chunks, args.delay_ms)))
    else:
        uvloop.run(serve(args.host, args.port, Answers.render(args.chunks, args.delay_ms)))


if __name__ == "__main__":
    main()
