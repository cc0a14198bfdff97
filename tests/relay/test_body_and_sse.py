"""Request bodies and event streams, the parts of the relay that look inside bytes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from modelport.errors import BadRequest, InvalidJSON, PayloadTooLarge
from modelport.multipart import MAX_PARTS, parse_form, spool_multipart
from modelport.relay.body import read_body, routing_fields, with_model
from modelport.relay.sse import SseModelRenamer, SseReader

BOUNDARY = "----b0undary"


def form(*parts: tuple[str, bytes]) -> bytes:
    out = b""
    for name, value in parts:
        filename = b'; filename="f.bin"' if name == "file" else b""
        out += (f"--{BOUNDARY}\r\n".encode() + b'Content-Disposition: form-data; name="' + name.encode() + b'"'
                + filename + b"\r\n\r\n" + value + b"\r\n")
    return out + f"--{BOUNDARY}--\r\n".encode()


def receiver(body: bytes, size: int):  # type: ignore[no-untyped-def]
    chunks: Iterator[bytes] = iter([body[i:i + size] for i in range(0, len(body), size)] or [b""])
    pending = list(chunks)

    async def receive() -> dict[str, object]:
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    return receive


@pytest.mark.parametrize("chunk", [1, 7, 1000, 10**6])
def test_model_found_before_or_after_a_large_file(chunk: int) -> None:
    payload = bytes(range(256)) * 800
    for body in (form(("model", b"whisper"), ("file", payload)), form(("file", payload), ("model", b"whisper"))):
        spooled = asyncio.run(spool_multipart(receiver(body, chunk), f"multipart/form-data; boundary={BOUNDARY}",
                                              10**7, 1024))
        assert spooled.model == "whisper" and spooled.size == len(body)
        assert spooled.file._rolled  # type: ignore[attr-defined]  # past 1 KiB it lives on disk, not in memory
        renamed = spooled.with_fields({"model": "upstream/whisper-1"})
        renamed.file.seek(0)
        rewritten = renamed.file.read()
        assert b"upstream/whisper-1" in rewritten and payload in rewritten and b"\r\nwhisper\r\n" not in rewritten


def test_multipart_over_the_limit_is_413() -> None:
    body = form(("file", bytes(5000)), ("model", b"m"))
    with pytest.raises(PayloadTooLarge):
        asyncio.run(spool_multipart(receiver(body, 100), f"multipart/form-data; boundary={BOUNDARY}", 1000, 100))


def test_json_body_limit_and_fields() -> None:
    with pytest.raises(PayloadTooLarge):
        asyncio.run(read_body(receiver(b"x" * 100, 10), 50))
    assert routing_fields(b'{"model": "m", "stream": true, "messages": []}').model == "m"
    with pytest.raises(InvalidJSON):
        routing_fields(b"{")
    with pytest.raises(BadRequest):
        routing_fields(b'{"model": 1}')
    assert b'"model":"up"' in with_model(b'{"model": "m", "x": 1}', "up")


def test_renaming_keeps_every_other_value_byte_for_byte() -> None:
    body = b'{"model": "m", "big": 1180591620717411303424, "inf": 1e999, "s": "\\u00e9", "n": [[{"a": -0.0}]]}'
    assert with_model(body, 'up"1') == (b'{"model":"up\\"1","big":1180591620717411303424,"inf":1e999,'
                                         b'"s":"\\u00e9","n":[[{"a": -0.0}]]}')
    with pytest.raises(BadRequest):
        with_model(b"[1]", "up")


@pytest.mark.parametrize("body", [b'{"model": "m", "x": "\xff"}', b'{"x": ' + b"[" * 100_000,
                                  b'{"x": ' + b'{"a":' * 100_000, b'{"model": "\\ud800"}'])
def test_every_malformed_json_body_is_invalid_json(body: bytes) -> None:
    with pytest.raises(InvalidJSON):
        routing_fields(body)


@pytest.mark.parametrize("body, content_type", [
    (form(("model", b"m")), "multipart/form-data; boundary=other"),
    (form(("model", b"m")), "multipart/form-data; boundary=" + "b" * 300),
    (form(("model", b"m")).removesuffix(f"--{BOUNDARY}--\r\n".encode()), None),  # no closing boundary
    (form(*[("model", b"m")] * (MAX_PARTS + 1)), None),
    (form(("model", b"m")).replace(b'name="model"', b'name="model"; x="' + b"x" * 100_000 + b'"'), None),
    (form(("model", b"m")).replace(b"\r\n\r\n", b"\r\n" + b"X-A: 1\r\n" * 9 + b"\r\n"), None),  # 10 headers
])
def test_malformed_multipart_is_400_for_the_gateway_and_the_worker(body: bytes, content_type: str | None) -> None:
    content_type = content_type or f"multipart/form-data; boundary={BOUNDARY}"
    with pytest.raises(BadRequest, match="multipart"):
        asyncio.run(spool_multipart(receiver(body, 100), content_type, 10**7, 1024))
    with pytest.raises(BadRequest, match="multipart"):
        parse_form(body, content_type)


def test_worker_form_keeps_every_part() -> None:
    parts = parse_form(form(("model", b"m"), ("file", b"\x00\xff"), ("model", b"n")),
                       f"multipart/form-data; boundary={BOUNDARY}")
    assert [(p.name, p.filename, p.data) for p in parts] == [
        (b"model", None, b"m"), (b"file", b"f.bin", b"\x00\xff"), (b"model", None, b"n")]


def test_sse_renamer_handles_any_split() -> None:
    stream = (b'data: {"id":"1","model":"up","choices":[]}\n\n: comment\n\n'
              b'data: {"id":"2","model":"up","choices":[]}\r\n\r\ndata: [DONE]\n\n')
    for size in (1, 3, 17, len(stream)):
        renamer = SseModelRenamer("served")
        out = b"".join(renamer.feed(stream[i:i + size]) for i in range(0, len(stream), size)) + renamer.flush()
        assert out.count(b'"model":"served"') == 2 and b'"up"' not in out
        assert out.endswith(b"data: [DONE]\n\n") and b": comment\n" in out


def test_sse_reader_is_tolerant() -> None:
    stream = b'data: {"a":1}\n\ndata:{"b":2}\r\n\r\n: ping\n\ndata: line1\ndata: line2\n\ndata: [DONE]'
    for size in (1, 5, len(stream)):
        reader = SseReader()
        events = [e for i in range(0, len(stream), size) for e in reader.feed(stream[i:i + size])] + reader.close()
        assert events == [b'{"a":1}', b'{"b":2}', b"line1\nline2", b"[DONE]"]
