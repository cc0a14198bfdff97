"""Hostile input to live engine workers (issue 11, D6): each a 400 in OpenAI's error shape, never a 500, and
the worker serves a normal request afterwards."""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.worker.live import LiveWorker, require_ready


def silence_wav(seconds: float = 0.5, rate: int = 16000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\0\0" * int(seconds * rate))
    return out.getvalue()


def _worker(engine: str, model: str, tmp: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    require_ready(model)
    with LiveWorker(engine, model, Path(tmp.mktemp("hostile"))) as live:
        yield live


@pytest.fixture(scope="module")
def llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    yield from _worker("llama.cpp", "smollm2-135m-instruct", tmp_path_factory)


@pytest.fixture(scope="module")
def tts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    yield from _worker("piper", "piper-en-us-joe", tmp_path_factory)


@pytest.fixture(scope="module")
def stt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    yield from _worker("faster-whisper", "whisper-tiny-en", tmp_path_factory)


def post(worker: LiveWorker, path: str, body: bytes, content_type: str = "application/json") -> httpx.Response:
    headers = {**worker.headers, "content-type": content_type}
    return httpx.post(worker.url + path, content=body, headers=headers, timeout=60)


def assert_400(response: httpx.Response) -> dict[str, object]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    return error  # type: ignore[no-any-return]


DEEP = (b"[" * 100_000, b'{"model": "m", "x": ' + b'{"a":' * 100_000, b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}")


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions", "/v1/tokenize"])
def test_deeply_nested_json_is_400_on_the_llm_worker(llm: LiveWorker, path: str) -> None:
    for body in DEEP:
        assert_400(post(llm, path, body))


def test_deeply_nested_json_is_400_on_the_speech_worker(tts: LiveWorker) -> None:
    for body in DEEP:
        assert_400(post(tts, "/v1/audio/speech", body))


def test_empty_completion_prompt_is_400(llm: LiveWorker) -> None:
    for body in (b'{"prompt": ""}', b'{"prompt": "", "stream": true}', b'{"prompt": ["a", ""]}'):
        assert assert_400(post(llm, "/v1/completions", body))["param"] == "prompt"
    ok = post(llm, "/v1/completions", b'{"prompt": "Hello", "max_tokens": 2}')
    assert ok.status_code == 200 and ok.json()["choices"][0]["text"]


@pytest.mark.parametrize("text", ["\u0000", "Hello\u0000there."])
def test_speech_input_with_a_nul_is_400(tts: LiveWorker, text: str) -> None:
    assert assert_400(post(tts, "/v1/audio/speech", json.dumps({"input": text}).encode()))["param"] == "input"
    ok = post(tts, "/v1/audio/speech", b'{"input": "Hello.", "response_format": "wav"}')
    assert ok.status_code == 200 and ok.content[:4] == b"RIFF"


def form(*parts: tuple[bytes, bytes], end: bool = True) -> bytes:
    out = b""
    for name, value in parts:
        filename = b'; filename="a.wav"' if name == b"file" else b""
        out += b'--a\r\nContent-Disposition: form-data; name="' + name + b'"' + filename + b"\r\n\r\n" + value + b"\r\n"
    return out + (b"--a--\r\n" if end else b"")


@pytest.mark.parametrize("path", ["/v1/audio/transcriptions", "/v1/audio/translations"])
def test_malformed_forms_are_400(stt: LiveWorker, path: str) -> None:
    wav = silence_wav()
    cases = [
        (form((b"file", wav), end=False), "multipart/form-data; boundary=a"),  # no closing boundary
        (form((b"language", b"\xff"), (b"file", wav)), "multipart/form-data; boundary=a"),  # not UTF-8
        (form((b"file", wav)), "multipart/form-data; boundary=b"),  # another boundary
        (b'--a\r\nContent-Disposition: form-data; name="m"; x="' + b"x" * 1_000_000 + b'"\r\n\r\nm\r\n--a--\r\n',
         "multipart/form-data; boundary=a"),
        (form(*[(b"prompt", b"p")] * 300, (b"file", wav)), "multipart/form-data; boundary=a"),
        (b"language=%FF", "application/x-www-form-urlencoded"),
    ]
    for body, content_type in cases:
        assert_400(post(stt, path, body, content_type))
    ok = post(stt, path, form((b"file", wav)), "multipart/form-data; boundary=a")
    assert ok.status_code == 200, ok.text
