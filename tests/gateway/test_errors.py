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


# --- hostile input (issue 11, D6): each a 4xx in the route's protocol shape, never a 500 -----------------

JSON_ROUTES = ["/v1/completions", "/v1/chat/completions", "/v1/embeddings", "/v1/images/generations",
               "/v1/audio/speech", "/v1/rerank", "/v2/rerank", "/v1/messages", "/v1/messages/count_tokens"]
MULTIPART_ROUTES = ["/v1/audio/transcriptions", "/v1/audio/translations", "/v1/images/edits"]


@pytest.fixture(scope="module")
def renamed(gateway: LiveGateway, fake: FakeUpstream) -> str:
    """A deployment whose `model` the gateway rewrites (so it re-encodes the body)."""
    gateway.deploy("d6-renamed", [fake.url], upstream_model="fake-model")
    return "d6-renamed"


def post_raw(gateway: LiveGateway, path: str, body: bytes, content_type: str = "application/json") -> httpx.Response:
    headers = {"authorization": f"Bearer {gateway.admin_key}", "content-type": content_type}
    return httpx.post(gateway.url + path, content=body, headers=headers, timeout=30)


def assert_error_shape(path: str, response: httpx.Response, status: int) -> None:
    """`status`, in Anthropic's error shape on /v1/messages*, OpenAI's elsewhere."""
    if not path.startswith("/v1/messages"):
        assert_openai_error(response, status)
        return
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and set(body["error"]) == {"type", "message"}


def still_serves(gateway: LiveGateway) -> None:
    ok = post(gateway, "/chat/completions", json={"model": "fake-model", "messages": [{"role": "user", "content": "ok"}]})
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("path", JSON_ROUTES)
def test_deeply_nested_json_is_400(gateway: LiveGateway, renamed: str, path: str) -> None:
    for model in ("fake-model", renamed):
        head = b'{"model": "' + model.encode() + b'", "max_tokens": 1, "x": '
        for body in (b"[" * 100_000, head + b'{"a":' * 100_000, head + b"[" * 100_000 + b"]" * 100_000 + b"}"):
            assert_error_shape(path, post_raw(gateway, path, body), 400)
    still_serves(gateway)


@pytest.mark.parametrize("path", JSON_ROUTES)
def test_nesting_around_the_decoders_limits_is_never_a_500(gateway: LiveGateway, renamed: str, path: str) -> None:
    """Depths just under and over the JSON decoders' own limits (msgspec: the recursion limit, orjson: 1024)."""
    for depth in (900, 950, 980, 1000, 1020, 1024, 1025, 1100):
        for model in ("fake-model", renamed):
            body = (b'{"model": "' + model.encode() + b'", "max_tokens": 1, "messages": [{"role": "user", '
                    b'"content": "hi"}], "query": "q", "documents": ["d"], "input": "i", "prompt": "p", "metadata": '
                    + b"[" * depth + b"]" * depth + b"}")
            response = post_raw(gateway, path, body)
            assert not gateway_failed(response), response.text
            if response.status_code >= 400:
                assert_error_shape(path, response, response.status_code)


@pytest.mark.parametrize("path", MULTIPART_ROUTES)
def test_malformed_multipart_is_400(gateway: LiveGateway, path: str) -> None:
    part = b'--a\r\nContent-Disposition: form-data; name="model"\r\n\r\nfake-model\r\n'
    huge_header = b'--a\r\nContent-Disposition: form-data; name="model"; x="' + b"x" * 1_000_000 + b'"\r\n\r\nm\r\n'
    many_parts = part * 5000 + b"--a--\r\n"
    for body, content_type in ((part + b"--a--\r\n", "multipart/form-data; boundary=b"),
                               (huge_header + b"--a--\r\n", "multipart/form-data; boundary=a"),
                               (part, "multipart/form-data; boundary=a"),  # no closing boundary
                               (many_parts, "multipart/form-data; boundary=a"),
                               (part + b"--a--\r\n", "multipart/form-data; boundary=" + "a" * 300)):
        assert_openai_error(post_raw(gateway, path, body, content_type), 400)
    still_serves(gateway)


def gateway_failed(response: httpx.Response) -> bool:
    """A 500 or other 5xx the gateway made itself (not an upstream's 502/503/504 about the upstream)."""
    return response.status_code == 500 or (response.status_code > 504)


SKIPPED_FIELD_ROUTES = ["/v1/chat/completions", "/v1/embeddings", "/v1/audio/speech", "/v1/rerank", "/v2/rerank",
                        "/v1/messages", "/v1/messages/count_tokens"]


def body_with_extra(model: str, value: bytes) -> bytes:
    return (b'{"model": "' + model.encode() + b'", "max_tokens": 5, "query": "q", "documents": ["d"], '
            b'"messages": [{"role": "user", "content": "hi"}], "input": "hi", "extra": ' + value + b"}")


@pytest.mark.parametrize("path", SKIPPED_FIELD_ROUTES)
def test_invalid_utf8_in_a_field_the_gateway_skips_is_400(gateway: LiveGateway, renamed: str, path: str) -> None:
    for model in ("fake-model", renamed):
        for value in (b'"\xff"', b'{"k\xfe": 1}', b'["ok", "\xc3"]'):
            assert_error_shape(path, post_raw(gateway, path, body_with_extra(model, value)), 400)
    still_serves(gateway)


@pytest.mark.parametrize("path", SKIPPED_FIELD_ROUTES[:-1])  # count_tokens: see test_hostile_input_owners.py
def test_numbers_no_float_holds_are_never_a_gateway_500(gateway: LiveGateway, renamed: str, path: str) -> None:
    """`1e999` is valid JSON; a route that relays it leaves it to the upstream, one that decodes it says 400."""
    for model in ("fake-model", renamed):
        for value in (b"1e999", b"-1e400", str(2**70).encode()):
            response = post_raw(gateway, path, body_with_extra(model, value))
            assert not gateway_failed(response), response.text
            if response.status_code >= 400:
                assert_error_shape(path, response, response.status_code)
    still_serves(gateway)


def test_messages_with_empty_content_is_400(gateway: LiveGateway) -> None:
    for path in ("/v1/messages", "/v1/messages/count_tokens"):
        body = {"model": "fake-model", "max_tokens": 5, "messages": [{"role": "user", "content": []}]}
        assert_error_shape(path, post(gateway, path.removeprefix("/v1"), json=body), 400)


@pytest.mark.parametrize("field", ["top_k", "max_tokens", "n", "seed", "top_n", "temperature", "dimensions"])
def test_integers_past_64_bits_are_400_or_relayed(gateway: LiveGateway, renamed: str, field: str) -> None:
    """Anthropic's typed fields refuse them; OpenAI routes relay them, as typed, to the upstream (which decides)."""
    for path in JSON_ROUTES:
        for model in ("fake-model", renamed):
            body = (b'{"model": "' + model.encode() + b'", "max_tokens": 5, "query": "q", "documents": ["d"], '
                    b'"messages": [{"role": "user", "content": "hi"}], "input": "hi", "prompt": "hi", '
                    b'"' + field.encode() + b'": ' + str(2**70).encode() + b"}")
            response = post_raw(gateway, path, body)
            assert not gateway_failed(response), (path, response.text)
            if response.status_code >= 400:
                assert_error_shape(path, response, response.status_code)
    still_serves(gateway)
