"""`diffusers`: image generation and edits with a local diffusers pipeline folder, on CPU torch.

No image weights ship in any installable package, so the catalog has no image model: deploy one from
a folder saved with `save_pretrained` (e.g. a Stable Diffusion checkpoint), `--model /path/to/folder`.
The folder's own pipeline class does text to image; image to image and inpainting reuse its components
(`AutoPipelineFor*.from_pipe`, no second copy of the weights).

Edits follow OpenAI's mask convention: where the mask is transparent (alpha 0) is repainted. A mask
without an alpha channel is read as diffusers' own convention (white = repaint).

Images come back as the request's `output_format` (PNG, JPEG or WebP, `encode_image`), generate and edit alike.

Engine args (strings): `steps` (num_inference_steps, default 25), `guidance_scale` (default: the
pipeline's), `strength` (image to image, default 0.75), `size` (default "WxH": the UNet's native size).
"""

from __future__ import annotations

import io
import random
from typing import Any

from modelport.engines.args import parse_engine_args
from modelport.engines.base import Capability, EngineOptions, EngineUnavailable, InvalidEngineInput
from modelport.engines.catalog import load_model_path
from modelport.engines.media import ImageRequest, TextlessEngine
from modelport.engines.registry import install_hint


def parse_size(value: str) -> tuple[int, int]:
    """(width, height) from "WxH"; raises ValueError for anything else."""
    width, sep, height = value.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise ValueError(f"size must be WIDTHxHEIGHT, got {value!r}")
    return int(width), int(height)


def encode_image(image: Any, output_format: str = "png", compression: int = 100) -> bytes:
    """A PIL image as PNG, JPEG or WebP bytes; `compression` is the JPEG/WebP quality (PNG ignores it)."""
    buffer = io.BytesIO()
    if output_format == "png":
        image.save(buffer, format="PNG")
    else:
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(buffer, format=output_format.upper(), quality=compression)
    return buffer.getvalue()


def _encoded(image: Any, request: ImageRequest) -> bytes:
    return encode_image(image, request.output_format, request.output_compression)


def _open_image(data: bytes, param: str) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidEngineInput(f"'{param}' is not an image this server can read ({exc})", param) from exc
    return image


def _repaint_mask(mask: Any) -> Any:
    """diffusers' mask (L, white = repaint) from an OpenAI mask (transparent = repaint)."""
    if "A" in mask.getbands():
        return mask.getchannel("A").point(lambda a: 255 if a < 128 else 0)
    return mask.convert("L")


class DiffusersEngine(TextlessEngine):
    """One diffusers pipeline folder, on the CPU (`threads` torch threads) by default, or on a GPU with the
    engine args `device=cuda` (or `auto`: the GPU when there is one) and `dtype=float16|bfloat16|float32`."""

    capabilities = frozenset({Capability.IMAGE_GENERATION, Capability.IMAGE_EDIT})

    def __init__(self, options: EngineOptions) -> None:
        self.model_id = options.model
        self.threads = options.threads
        args = parse_engine_args("diffusers", options.extra)
        self.steps: int = args["steps"]
        self.strength: float = args["strength"]
        self.guidance_scale: float | None = args["guidance_scale"]
        self._size: str | None = args["size"]
        self._device: str = args["device"]
        self._dtype: str | None = args["dtype"]
        self.default_size = (512, 512)
        self.multiple = 8
        self._pipelines: dict[str, Any] = {}

    def load(self) -> None:
        """Load the text-to-image pipeline from the folder (float32, CPU)."""
        try:
            import torch
            from diffusers import AutoPipelineForText2Image
        except ImportError as exc:
            raise EngineUnavailable(install_hint("diffusers")) from exc
        path = load_model_path(self.model_id, marker="model_index.json", kind="a diffusers pipeline folder")
        torch.set_num_threads(self.threads)
        device, dtype = self._placement(torch)
        pipeline = AutoPipelineForText2Image.from_pretrained(  # type: ignore[no-untyped-call]
            str(path), dtype=dtype, local_files_only=True
        ).to(device)
        pipeline.set_progress_bar_config(disable=True)
        self._pipelines["text2image"] = pipeline
        scale = int(getattr(pipeline, "vae_scale_factor", 8))
        self.multiple = max(8, scale)
        sample = getattr(pipeline.unet.config, "sample_size", 64) if hasattr(pipeline, "unet") else 64
        native = int(sample if isinstance(sample, int) else sample[0]) * scale
        self.default_size = parse_size(self._size) if self._size else (native, native)

    def _placement(self, torch: Any) -> tuple[str, Any]:
        """(device, dtype) from the engine args: float32 on the CPU, float16 on a GPU unless told."""
        device = self._device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise EngineUnavailable("device=cuda was asked for, but torch sees no CUDA GPU here")
        if device != "cpu" and not device.startswith("cuda"):
            raise EngineUnavailable(f"unknown device {device!r}: use cpu, cuda, cuda:N or auto")
        name = self._dtype or ("float32" if device == "cpu" else "float16")
        if name not in ("float32", "float16", "bfloat16"):
            raise EngineUnavailable(f"unknown dtype {name!r}: use float32, float16 or bfloat16")
        self.device = device
        return device, getattr(torch, name)

    def _pipeline(self, kind: str) -> Any:
        """The text2image, image2image or inpaint pipeline, sharing one set of components."""
        if kind not in self._pipelines:
            from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting

            make = AutoPipelineForImage2Image if kind == "image2image" else AutoPipelineForInpainting
            pipeline = make.from_pipe(self._pipelines["text2image"])
            pipeline.set_progress_bar_config(disable=True)
            self._pipelines[kind] = pipeline
        return self._pipelines[kind]

    def _size_of(self, request: ImageRequest, fallback: tuple[int, int]) -> tuple[int, int]:
        width, height = (request.width, request.height) if request.width and request.height else fallback
        if width % self.multiple or height % self.multiple:
            raise InvalidEngineInput(f"width and height must be multiples of {self.multiple} for this model", "size")
        return width, height

    def _common(self, request: ImageRequest) -> dict[str, Any]:
        import torch

        base = request.seed if request.seed is not None else random.getrandbits(31)
        kwargs: dict[str, Any] = {
            "prompt": request.prompt,
            "num_inference_steps": self.steps,
            "num_images_per_prompt": request.n,
            "generator": [torch.Generator("cpu").manual_seed(base + i) for i in range(request.n)],
        }
        if self.guidance_scale is not None:
            kwargs["guidance_scale"] = self.guidance_scale
        return kwargs

    def generate(self, request: ImageRequest) -> list[bytes]:
        """`n` images of the requested (or default) size, encoded as `request.output_format`."""
        width, height = self._size_of(request, self.default_size)
        output = self._pipeline("text2image")(**self._common(request), width=width, height=height)
        return [_encoded(image, request) for image in output.images]

    def edit(self, request: ImageRequest) -> list[bytes]:
        """Inpaint where the mask says, or image to image without a mask; output at the requested size."""
        assert request.image is not None
        image = _open_image(request.image, "image")
        mask = _open_image(request.mask, "mask") if request.mask is not None else None
        if mask is not None and mask.size != image.size:
            raise InvalidEngineInput(
                f"the mask is {mask.size[0]}x{mask.size[1]} but the image is"
                f" {image.size[0]}x{image.size[1]}; they must be the same size",
                "mask",
            )
        step = self.multiple
        fallback = (image.size[0] // step * step, image.size[1] // step * step)
        width, height = self._size_of(request, fallback)
        if width == 0 or height == 0:
            raise InvalidEngineInput(f"the image is smaller than {self.multiple} pixels", "image")
        image = image.convert("RGB").resize((width, height))
        kwargs = self._common(request)
        if mask is None:
            output = self._pipeline("image2image")(**kwargs, image=image, strength=self.strength)
        else:
            repaint = _repaint_mask(mask).resize((width, height))
            output = self._pipeline("inpaint")(**kwargs, image=image, mask_image=repaint, width=width, height=height)
        return [_encoded(p if p.size == (width, height) else p.resize((width, height)), request) for p in output.images]
