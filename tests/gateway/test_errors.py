"""The gateway's own errors: OpenAI-shaped, right status, never a traceback."""

from __future__ import annotations

import httpx
import pytest

from modelport.testing import FakeUpstream
from tests.harness import LiveGateway


def post(gateway: LiveGateway, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
    headers = {"authorization": f"Bearer {gateway.admin_key}", **kwargs.pop("headers", {})}
    return httpx.post(gateway.v1 + path, headers=headers, timeout=30, **kwargs)


def assert_openai_error(response: httpx.Response, status: int) -> dict:  # type: ignore[type-arg]
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "Traceback" not in error["message"]
    return error  # type: ignore[no-any-return]


def test_invalid_json_is_400(gateway: LiveGateway) -> None:
    response = post(gateway, "/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    assert assert_openai_error(response, 400)["code"] == "invalid_json"


@pytest.mark.parametrize("body", [b"[]", b'{"model": 3}', b'"text"'])
def test_non_object_or_bad_model_is_400(gateway: LiveGateway, body: bytes) -> None:
    assert_openai_error(post(gateway, "/chat/completions", content=body, headers={"content-type": "application/json"}), 400)


def test_missing_model_is_400(gateway: LiveGateway) -> None:
    error = assert_openai_error(post(gateway, "/chat/completions", json={"messages": []}), 400)
    assert error["param"] == "model"


def test_missing_model_in_multipart_is_400(gateway: LiveGateway) -> None:
    assert_openai_error(post(gateway, "/audio/transcriptions", files={"file": ("a.wav", b"RIFF")}), 400)


def test_unknown_model_is_404(gateway: LiveGateway) -> None:
    error = assert_openai_error(post(gateway, "/embeddings", json={"model": "nope", "input": "x"}), 404)
    assert error["code"] == "model_not_found"


def test_unknown_route_is_404(gateway: LiveGateway) -> None:
    assert_openai_error(post(gateway, "/nothing/here", json={}), 404)


def test_wrong_method_is_405(gateway: LiveGateway) -> None:
    response = httpx.get(gateway.v1 + "/chat/completions", headers={"authorization": f"Bearer {gateway.admin_key}"})
    assert_openai_error(response, 405)


def test_wrong_content_type_is_415(gateway: LiveGateway) -> None:
    assert_openai_error(post(gateway, "/chat/completions", content=b"model=x",
                             headers={"content-type": "application/x-www-form-urlencoded"}), 415)
    assert_openai_error(post(gateway, "/audio/transcriptions", json={"model": "fake-model"}), 415)


def test_too_large_is_413(fresh_gateway: LiveGateway, fake: FakeUpstream) -> None:
    fresh_gateway._args += ["--max-upload-mb", "1"]
    fresh_gateway.start()
    fresh_gateway.deploy("fake-model", [fake.url])
    big = b"x" * (2 * 1024 * 1024)
    assert_openai_error(post(fresh_gateway, "/audio/transcriptions",
                             files={"model": (None, "fake-model"), "file": ("a.wav", big)}), 413)
    chunked = post(fresh_gateway, "/chat/completions", content=iter([b'{"model": "fake-model", "x": "', big, b'"}']),
                   headers={"content-type": "application/json"})
    assert_openai_error(chunked, 413)
    assert post(fresh_gateway, "/chat/completions",
                json={"model": "fake-model", "messages": [{"role": "user", "content": "ok"}]}).status_code == 200


def test_no_ready_instance_is_503_with_retry_after(gateway: LiveGateway) -> None:
    gateway.deploy("down", ["http://127.0.0.1:9/v1"], wait=False)
    response = post(gateway, "/chat/completions", json={"model": "down", "messages": []})
    assert_openai_error(response, 503)
    assert int(response.headers["retry-after"]) >= 1


def test_upstream_timeout_is_504(gateway: LiveGateway, fake: FakeUpstream) -> None:
    gateway.deploy("slow", [fake.url], upstream_model="fake-model", timeouts={"first_byte": 0.5})
    response = post(gateway, "/chat/completions", json={"model": "slow", "messages": []},
                    headers={"x-fake-delay-ms": "3000"})
    assert_openai_error(response, 504)


def test_idle_stream_ends_with_an_error_event(gateway: LiveGateway, fake: FakeUpstream) -> None:
    gateway.deploy("stalls", [fake.url], upstream_model="fake-model", timeouts={"idle": 0.5})
    response = post(gateway, "/chat/completions",
                    json={"model": "stalls", "stream": True, "messages": [{"role": "user", "content": "a b c"}]},
                    headers={"x-fake-chunk-delay-ms": "2000"})
    assert response.status_code == 200
    assert b'"upstream_timeout"' in response.content.split(b"\n\n")[-2]


def test_broken_stream_ends_with_an_error_event(gateway: LiveGateway) -> None:
    response = post(gateway, "/chat/completions",
                    json={"model": "fake-model", "stream": True, "messages": [{"role": "user", "content": "a b c d"}]},
                    headers={"x-fake-drop-after": "2"})
    events = [e for e in response.content.split(b"\n\n") if e]
    assert b'"error"' in events[-1]
