"""A tiny, randomly initialised Stable Diffusion pipeline saved to a folder, for tests.

No image weights ship in any installable package, so tests build what diffusers' own test suite builds:
a two-block UNet, a two-block VAE, a five-layer CLIP text encoder and a CLIP BPE tokenizer whose
vocabulary (single characters plus a few merges) is written here, so nothing is fetched from a hub.
Its images are noise, but every shape, size and code path is the real one.
"""

from __future__ import annotations

import json
import string
import tempfile
from pathlib import Path

SPECIAL = ("<|startoftext|>", "<|endoftext|>")
MERGES = ("t h", "th e</w>", "a n", "o n", "i n", "e r</w>")


def _write_tokenizer(folder: Path) -> None:
    """vocab.json + merges.txt for a character-level CLIP BPE tokenizer (< 200 ids)."""
    symbols = sorted(set(string.ascii_lowercase + string.digits + string.punctuation))
    vocab: list[str] = [*symbols, *(s + "</w>" for s in symbols)]
    for merge in MERGES:
        merged = merge.replace(" ", "")
        if merged not in vocab:
            vocab.append(merged)
    vocab.extend(SPECIAL)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({tok: i for i, tok in enumerate(vocab)}), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(MERGES) + "\n", encoding="utf-8")


def build_tiny_pipeline(folder: Path, seed: int = 0) -> Path:
    """Save a tiny text-to-image StableDiffusionPipeline under `folder`; returns the folder."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as source:
        _write_tokenizer(Path(source))
        tokenizer = CLIPTokenizer(
            vocab=str(Path(source) / "vocab.json"),
            merges=str(Path(source) / "merges.txt"),
            model_max_length=32,
        )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=5,
            vocab_size=len(tokenizer),
            max_position_embeddings=32,
        )
    )
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=32,
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        steps_offset=1,
    )
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(str(folder))  # type: ignore[attr-defined]  # diffusers builds its classes lazily
    return folder


def require_images() -> None:
    """Skip the calling module when the image stack is missing, saying how to install it."""
    import importlib.util
    import os

    import pytest

    missing = [m for m in ("torch", "diffusers", "transformers") if importlib.util.find_spec(m) is None]
    if missing:
        message = f"image engine needs {', '.join(missing)}: run scripts/install-engines --images"
        if os.environ.get("CI"):  # CI installs it (scripts/test): a missing install must fail, not skip
            pytest.fail(message)
        pytest.skip(message)
