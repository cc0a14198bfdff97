"""POST /v1/images/generations and /v1/images/edits: real (tiny, flat-coloured) PNG files."""

from __future__ import annotations

import base64
import hashlib
import struct
import time
import zlib
from typing import Any

from aiohttp import web

from modelport.testing.forms import read_form
from modelport.testing.wire import Call, FakeHTTPError, json_response

DEFAULT_SIZE = "256x256"
MAX_SIDE = 4096


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def make_png(width: int, height: int, seed: bytes = b"") -> bytes:
    """A valid 8-bit RGB PNG of one colour derived from ``seed``."""
    colour = hashlib.sha256(seed).digest()[:3]
    row = b"\x00" + colour * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(row * height, 6)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", pixels) + _png_chunk(
        b"IEND", b"")


def parse_size(size: Any) -> tuple[int, int]:
    """``"WxH"`` (``"auto"`` or absent: the default) as integers; 400 when malformed."""
    if size in (None, "", "auto"):
        size = DEFAULT_SIZE
    try:
        width, height = (int(side) for side in str(size).lower().split("x"))
    except ValueError:
        raise FakeHTTPError(400, f"invalid size {size!r}, expected WIDTHxHEIGHT", param="size") from None
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise FakeHTTPError(400, f"size sides must be 1 to {MAX_SIDE}", param="size")
    return width, height


def _images(request: web.Request, call: Call, prompt: str, n: int, size: Any, response_format: Any,
            salt: str = "") -> web.Response:
    if not 1 <= n <= 10:
        raise FakeHTTPError(400, "n must be between 1 and 10", param="n")
    if response_format not in (None, "b64_json", "url"):
        raise FakeHTTPError(400, "response_format must be b64_json or url", param="response_format")
    width, height = parse_size(size)
    data = []
    for index in range(n):
        png = make_png(width, height, f"{prompt}{salt}#{index}".encode())
        if response_format == "url":
            name = call.state.new_id("img")
            call.state.files[name] = png
            root = call.state.root_url or f"{request.scheme}://{request.host}"
            data.append({"url": f"{root}/files/{name}.png", "revised_prompt": prompt})
        else:
            data.append({"b64_json": base64.b64encode(png).decode(), "revised_prompt": prompt})
    return json_response({"created": int(time.time()), "data": data})


async def generations(request: web.Request, call: Call) -> web.StreamResponse:
    """Answer an image generation request (JSON body)."""
    data = call.json()
    call.model(data)
    prompt = data.get("prompt")
    if not isinstance(prompt, str):
        raise FakeHTTPError(400, "prompt is required", param="prompt")
    n = data.get("n") or 1
    if not isinstance(n, int):
        raise FakeHTTPError(400, "n must be an integer", param="n")
    return _images(request, call, prompt, n, data.get("size"), data.get("response_format"))


async def edits(request: web.Request, call: Call) -> web.StreamResponse:
    """Answer an image edit request (multipart: image, optional mask, prompt, model, n, size, ...)."""
    fields = await read_form(request.headers, call.body)
    image = fields.get("image") or fields.get("image[]")
    if image is None or not image.data:
        raise FakeHTTPError(400, "an image file is required", param="image")
    if "model" in fields:
        call.model({"model": fields["model"].text})
    prompt = fields["prompt"].text if "prompt" in fields else ""
    try:
        n = int(fields["n"].text) if "n" in fields else 1
    except ValueError:
        raise FakeHTTPError(400, "n must be an integer", param="n") from None
    size = fields["size"].text if "size" in fields else None
    response_format = fields["response_format"].text if "response_format" in fields else None
    salt = hashlib.sha256(image.data).hexdigest()
    return _images(request, call, prompt, n, size, response_format, salt)
