"""The pure parts of /v1/rerank and /model/proxy: request checks and the proxy's routing rule."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from modelport.api.proxy import body_model, check_target, raw_segments, split_deployment
from modelport.api.rerank import check_rerank
from modelport.errors import BadRequest, InvalidJSON, MissingModel
from modelport.protocols.rerank import RerankFields


def _check(limit: int = 1000, **body: Any) -> RerankFields:
    return check_rerank(orjson.dumps({"model": "m", "query": "q", "documents": ["a", "b"], **body}), limit)


def test_a_good_request_passes_with_its_fields() -> None:
    fields = _check(top_n=2, return_documents=False, documents=["a", {"text": "b"}])
    assert fields.model == "m" and fields.top_n == 2 and fields.return_documents is False
    assert fields.documents is not None and len(fields.documents) == 2


@pytest.mark.parametrize(("body", "param"), [
    ({"documents": []}, "documents"),
    ({"documents": None}, "documents"),
    ({"query": None}, "query"),
    ({"query": 3}, "query"),
    ({"top_n": 0}, "top_n"),
    ({"top_n": 3}, "top_n"),
    ({"documents": ["a", 5]}, "documents[1]"),
])
def test_bad_requests_name_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(BadRequest) as caught:
        _check(**body)
    assert caught.value.param == param


def test_missing_query_model_and_documents() -> None:
    with pytest.raises(BadRequest) as caught:
        check_rerank(b'{"model": "m", "documents": ["a"]}', 10)
    assert caught.value.param == "query"
    with pytest.raises(MissingModel):
        check_rerank(b'{"query": "q", "documents": ["a"]}', 10)
    with pytest.raises(BadRequest) as caught:
        check_rerank(b'{"model": "m", "query": "q"}', 10)
    assert caught.value.param == "documents"


def test_too_many_documents_and_bad_types() -> None:
    with pytest.raises(BadRequest) as caught:
        _check(limit=1, documents=["a", "b"])
    assert caught.value.code == "too_many_documents"
    with pytest.raises(BadRequest):
        _check(top_n="3")
    with pytest.raises(BadRequest):
        _check(documents="a")
    with pytest.raises(InvalidJSON):
        check_rerank(b'{"model": ', 10)


def test_split_deployment_takes_the_longest_name() -> None:
    routes = {"bge-m3": 1, "org": 2, "org/model": 3}
    assert split_deployment(["bge-m3", "embed"], routes) == ("bge-m3", 1)
    assert split_deployment(["org", "model", "v1", "score"], routes) == ("org/model", 2)
    assert split_deployment(["org", "other"], routes) == ("org", 1)
    assert split_deployment(["bge-m3"], routes) == ("bge-m3", 1)
    assert split_deployment(["embed"], routes) is None


def test_raw_segments_keep_percent_escapes_even_of_slashes_and_line_breaks() -> None:
    assert raw_segments({"raw_path": b"/model/proxy/m/a%20b/c", "path": "/model/proxy/m/a b/c"}) == ["m", "a%20b", "c"]
    scope = {"raw_path": b"/model/proxy/m/echo%2Fa%20HTTP/1.1%0d%0aX-Injected:%20yes",
             "path": "/model/proxy/m/echo/a HTTP/1.1\r\nX-Injected: yes"}
    assert raw_segments(scope) == ["m", "echo%2Fa%20HTTP", "1.1%0d%0aX-Injected:%20yes"]
    assert raw_segments({"path": "/model/proxy/m/a b\r\n"}) == ["m", "a%20b%0D%0A"]  # no raw path: encoded again


def test_check_target_refuses_anything_but_visible_ascii() -> None:
    check_target("v1/echo/a%0d%0ab", "x=1&y=%20")
    for path, query in [("a b", ""), ("a\r\nb", ""), ("a\x00", ""), ("caf\xe9", ""), ("a", "x= 1"), ("a", "\n")]:
        with pytest.raises(BadRequest):
            check_target(path, query)


def test_body_model_is_lenient() -> None:
    assert body_model(b'{"model": "a", "inputs": [1]}') == "a"
    assert body_model(b'[1, 2]') is None
    assert body_model(b'{"model": 3}') is None
    assert body_model(b'not json') is None
