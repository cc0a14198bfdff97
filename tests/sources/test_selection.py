"""Which files a reference names: reference syntax, the default quantisation, split parts, diffusers."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.sources.reference import BadReference, HubRef, OllamaRef, is_source_reference, parse_reference
from modelport.sources.selection import NoMatch, choose, quant_of, quantisations, safe_path

GGUF_REPO = {
    "README.md": 1, "qwen3-0.6b-Q8_0.gguf": 600, "qwen3-0.6b-Q4_K_M.gguf": 400, "qwen3-0.6b-Q2_K.gguf": 250,
    "mmproj-qwen3-F16.gguf": 100, "F16/qwen3-0.6b-F16-00001-of-00002.gguf": 700,
    "F16/qwen3-0.6b-F16-00002-of-00002.gguf": 500,
}


def test_references() -> None:
    assert parse_reference("hf://Qwen/Qwen3-0.6B-GGUF:Q8_0") == HubRef("Qwen/Qwen3-0.6B-GGUF", "Q8_0")
    assert parse_reference("Qwen/Qwen3-0.6B-GGUF") == HubRef("Qwen/Qwen3-0.6B-GGUF")
    assert parse_reference("hf://a/b@v1.0") == HubRef("a/b", None, "v1.0")
    assert parse_reference("ollama://qwen3") == OllamaRef("library", "qwen3", "latest")
    assert parse_reference("ollama://me/m:7b") == OllamaRef("me", "m", "7b")
    assert str(OllamaRef("library", "qwen3", "latest")) == "ollama://library/qwen3:latest"
    assert parse_reference("smollm2-135m-instruct") is None and parse_reference("/models/x.gguf") is None
    assert parse_reference("Qwen/Qwen3", bare=False) is None
    for bad in ("hf://no-slash", "hf://a/../b", "ollama://a:b:c", "hf://a/b:c d"):
        with pytest.raises(BadReference):
            parse_reference(bad)
    assert is_source_reference("hf://no-slash") and not is_source_reference("whisper-base")


def test_an_existing_relative_path_is_not_a_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mine.gguf").write_bytes(b"GGUF")
    assert parse_reference("models/mine.gguf") is None


def test_default_quantisation_is_q4_k_m_and_a_selector_picks_another() -> None:
    assert choose(GGUF_REPO, None).files == ("qwen3-0.6b-Q4_K_M.gguf",)
    assert choose(GGUF_REPO, "q8_0").files == ("qwen3-0.6b-Q8_0.gguf",)
    assert choose(GGUF_REPO, "qwen3-0.6b-Q2_K.gguf").entry == "qwen3-0.6b-Q2_K.gguf"
    with pytest.raises(NoMatch, match="Q4_K_M, Q8_0, F16, Q2_K"):
        choose(GGUF_REPO, "IQ1_S")
    assert quantisations(list(GGUF_REPO)) == ["Q4_K_M", "Q8_0", "F16", "Q2_K"]


def test_split_ggufs_come_whole_and_load_from_their_first_part() -> None:
    choice = choose(GGUF_REPO, "F16")
    assert choice.files == ("F16/qwen3-0.6b-F16-00001-of-00002.gguf", "F16/qwen3-0.6b-F16-00002-of-00002.gguf")
    assert choice.entry == choice.files[0]
    assert quant_of("F16/qwen3-0.6b-F16-00002-of-00002.gguf") == "F16"


def test_without_a_preferred_quantisation_the_smallest_file() -> None:
    assert choose({"m-IQ2_XXS.gguf": 30, "m-Q3_K_L.gguf": 50, "other.gguf": 90}, None).files == ("m-IQ2_XXS.gguf",)


def test_diffusers_and_whisper_repos_fetch_what_the_engine_loads() -> None:
    diffusers = {"model_index.json": 1, "sd_turbo.safetensors": 9, "README.md": 1, "unet/config.json": 1,
                 "unet/diffusion_pytorch_model.safetensors": 5, "unet/diffusion_pytorch_model.fp16.safetensors": 3,
                 "unet/diffusion_pytorch_model.bin": 5, "vae/config.json": 1, "vae/diffusion_pytorch_model.safetensors": 2,
                 "tokenizer/vocab.json": 1, "tokenizer/merges.txt": 1}
    picked = set(choose(diffusers, None).files)
    assert picked == {"model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
                      "vae/config.json", "vae/diffusion_pytorch_model.safetensors", "tokenizer/vocab.json",
                      "tokenizer/merges.txt"}
    whisper = {"model.bin": 9, "config.json": 1, "tokenizer.json": 1, "vocabulary.txt": 1, "README.md": 1,
               ".gitattributes": 1}
    assert set(choose(whisper, None).files) == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    assert choose(whisper, None).entry == ""


def test_hostile_file_names_are_never_fetched() -> None:
    assert not any(safe_path(n) for n in ("../x", "/etc/passwd", "a//b", "a/./b", "a\\b", "a\x00b", ""))
    assert choose({"../../evil.gguf": 1, "ok.gguf": 2}, None).files == ("ok.gguf",)
