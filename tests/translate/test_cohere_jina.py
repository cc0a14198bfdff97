"""Cohere rerank v2 ⇄ Jina rerank, and Jina ⇄ TEI's native /rerank: pure translation."""

from __future__ import annotations

import pytest

from modelport.errors import BadRequest, UpstreamUnreachable
from modelport.translate.cohere_jina import cohere_response_from_jina, jina_request_from_cohere
from modelport.translate.jina_tei import (
    estimate_tokens,
    jina_response_from_tei,
    tei_request_from_jina,
)

DOCS = ["hi", "it is a bear", "The giant panda is a bear species endemic to China."]


def test_cohere_request_becomes_jina_with_explicit_return_documents() -> None:
    cohere = {"model": "rerank-v3.5", "query": "What is a panda?", "documents": DOCS, "top_n": 2,
              "max_tokens_per_doc": 512, "rank_fields": ["text"]}
    assert jina_request_from_cohere(cohere, upstream_model="bge") == {
        "model": "bge", "query": "What is a panda?", "documents": DOCS, "top_n": 2, "return_documents": False}


def test_cohere_request_keeps_text_objects_and_asked_documents() -> None:
    cohere = {"model": "m", "query": "q", "documents": [{"text": "a"}, "b"], "return_documents": True}
    jina = jina_request_from_cohere(cohere, upstream_model="m")
    assert jina["documents"] == [{"text": "a"}, "b"] and jina["return_documents"] is True
    assert "top_n" not in jina


def test_jina_answer_becomes_cohere_best_first() -> None:
    jina = {"model": "m", "object": "list", "usage": {"prompt_tokens": 9, "total_tokens": 9}, "results": [
        {"index": 1, "relevance_score": 0.2, "document": {"text": "it is a bear"}},
        {"index": 2, "relevance_score": 0.9, "document": {"text": DOCS[2]}}]}
    cohere = cohere_response_from_jina(jina, return_documents=False, documents=3, response_id="abc")
    assert cohere == {"id": "abc", "results": [{"index": 2, "relevance_score": 0.9},
                                               {"index": 1, "relevance_score": 0.2}],
                      "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}}
    with_docs = cohere_response_from_jina(jina, return_documents=True, documents=3)
    assert with_docs["results"][0]["document"] == {"text": DOCS[2]}
    assert len(with_docs["id"]) == 36


def test_search_units_count_hundreds_of_documents() -> None:
    jina: dict[str, list[object]] = {"results": []}
    assert cohere_response_from_jina(jina, return_documents=False, documents=250)["meta"]["billed_units"] == {
        "search_units": 3}


@pytest.mark.parametrize("answer", [None, [], {"results": "x"}, {"results": [{"index": 0}]},
                                    {"results": [{"relevance_score": "high", "index": 0}]}])
def test_unusable_jina_answer_is_a_502(answer: object) -> None:
    with pytest.raises(UpstreamUnreachable):
        cohere_response_from_jina(answer, return_documents=False, documents=1)


def test_jina_request_becomes_tei() -> None:
    tei, texts = tei_request_from_jina({"model": "m", "query": {"text": "q"}, "documents": ["a", {"text": "b"}]})
    assert tei == {"query": "q", "texts": ["a", "b"], "return_text": False, "truncate": True}
    assert texts == ["a", "b"]


def test_jina_request_with_a_bad_document_is_a_400() -> None:
    with pytest.raises(BadRequest) as caught:
        tei_request_from_jina({"query": "q", "documents": ["a", {"image": "x"}]})
    assert caught.value.param == "documents[1]"


def test_tei_answer_becomes_jina_sorted_with_top_n_and_documents() -> None:
    ranks = [{"index": 0, "score": 0.1}, {"index": 2, "score": 0.8}, {"index": 1, "score": 0.5}]
    jina = jina_response_from_tei(ranks, DOCS, model="served", top_n=2, return_documents=True, tokens=7)
    assert jina == {"model": "served", "object": "list", "results": [
        {"document": {"text": DOCS[2]}, "index": 2, "relevance_score": 0.8},
        {"document": {"text": DOCS[1]}, "index": 1, "relevance_score": 0.5}],
        "usage": {"prompt_tokens": 7, "total_tokens": 7}}
    bare = jina_response_from_tei(ranks, DOCS, model="m", top_n=None, return_documents=False, tokens=1)
    assert [r["index"] for r in bare["results"]] == [2, 1, 0]
    assert all("document" not in r for r in bare["results"])


@pytest.mark.parametrize("ranks", [{"error": "x"}, [{"index": 0}], [{"index": 5, "score": 1.0}]])
def test_unusable_tei_answer_is_a_502(ranks: object) -> None:
    with pytest.raises(UpstreamUnreachable):
        jina_response_from_tei(ranks, DOCS, model="m", top_n=None, return_documents=True, tokens=1)


def test_token_estimate_is_four_characters_per_token_over_pairs() -> None:
    assert estimate_tokens("abcd", ["abcd", "abcdefgh"]) == 5
    assert estimate_tokens("", [""]) == 1
