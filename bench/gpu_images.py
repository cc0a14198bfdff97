"""The diffusers image engine on the CPU vs a CUDA GPU, on a tiny randomly initialised pipeline.

It proves the GPU path (device=cuda, float16) loads, generates and edits at the requested sizes, and times
both devices on the same work. Run on a machine with a GPU: `python -m bench.gpu_images [--out FILE]`.
The tiny pipeline makes the timings a check of overheads, not a statement about real models.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any


def _png_size(data: bytes) -> tuple[int, int]:
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _mask(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 0, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


def run_on(device: str, folder: Path) -> dict[str, Any]:
    from modelport.engines.base import EngineOptions
    from modelport.engines.diffusers_images import DiffusersEngine
    from modelport.engines.media import ImageRequest

    engine = DiffusersEngine(EngineOptions(model=str(folder), threads=4, extra={"device": device, "steps": "8"}))
    started = time.perf_counter()
    engine.load()
    loaded = time.perf_counter() - started
    unet = engine._pipeline("text2image").unet
    request = ImageRequest(prompt="a red square", n=2, width=128, height=128, seed=1)
    engine.generate(request)  # warm-up
    started = time.perf_counter()
    images = engine.generate(request)
    generate_s = time.perf_counter() - started
    edited = engine.edit(ImageRequest(prompt="a hat", width=256, height=256, seed=2, image=images[0],
                                      mask=_mask(128, 128)))
    return {"device": engine.device, "param_device": str(next(unet.parameters()).device),
            "dtype": str(next(unet.parameters()).dtype), "load_s": round(loaded, 3),
            "generate_2x128_s": round(generate_s, 4), "sizes": [_png_size(i) for i in images],
            "edit_size": _png_size(edited[0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out")
    args = parser.parse_args()
    import torch
    from tests.engines.tiny_diffusion import build_tiny_pipeline

    folder = build_tiny_pipeline(Path(tempfile.mkdtemp()) / "pipeline")
    results = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
               "runs": [run_on(device, folder) for device in ("cpu", "cuda", "auto")]}
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
