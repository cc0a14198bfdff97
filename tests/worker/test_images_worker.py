"""A live diffusers worker on a tiny randomly initialised pipeline, driven with the openai SDK:
generations and edits at the requested size in both response formats, temporary image links, 400s."""

from __future__ import annotations

import base64
import io
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import aiohttp
import openai
import pytest

from tests.engines.tiny_diffusion import build_tiny_pipeline, require_images
from tests.worker.live import LiveWorker
from tests.worker.media_helpers import png_size


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorker]:
    require_images()
    folder = build_tiny_pipeline(Path(tmp_path_factory.mktemp("tiny-sd")) / "pipeline")
    with LiveWorker(
        "diffusers",
        str(folder),
        Path(tmp_path_factory.mktemp("img")),
        "--served-name",
        "tiny-sd",
        "--engine-arg",
        "steps=2",
    ) as live:
        yield live


@pytest.fixture(scope="module")
def client(worker: LiveWorker) -> openai.OpenAI:
    return openai.OpenAI(base_url=worker.url + "/v1", api_key=worker.secret, max_retries=0)


def _png(size: tuple[int, int], mode: str = "RGB", color: object = (20, 160, 90)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def _fetch(url: str, media_type: str = "image/png") -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # no secret: the id is the credential
        assert response.headers["Content-Type"] == media_type
        return bytes(response.read())


def _decoded(data: bytes) -> tuple[str, tuple[int, int]]:
    """(Pillow's format name, (width, height)) of encoded image bytes, decoding every pixel."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return str(image.format), image.size


def test_generate_b64_json_at_the_requested_size(client: openai.OpenAI) -> None:
    result = client.images.generate(
        model="tiny-sd",
        prompt="a lighthouse at dusk",
        n=2,
        size="96x64",
        response_format="b64_json",
    )
    assert result.data is not None and len(result.data) == 2
    sizes = [png_size(base64.b64decode(d.b64_json or "")) for d in result.data]
    assert sizes == [(96, 64), (96, 64)] and result.created > 0


def test_generate_url_serves_the_image_for_a_while(client: openai.OpenAI, worker: LiveWorker) -> None:
    result = client.images.generate(model="tiny-sd", prompt="a boat", size="64x64", response_format="url")
    assert result.data is not None
    url = result.data[0].url or ""
    assert url.startswith(worker.url + "/v1/files/images/") and url.endswith(".png")
    assert len(url.rsplit("/", 1)[1].removesuffix(".png")) >= 43  # 32 random bytes
    assert png_size(_fetch(url)) == (64, 64)
    assert result.output_format == "png" and result.size == "64x64"
    with pytest.raises(urllib.error.HTTPError) as err:
        _fetch(worker.url + "/v1/files/images/not-a-real-id.png")
    assert err.value.code == 404


def test_seed_makes_generation_repeatable(client: openai.OpenAI) -> None:
    def image(seed: int) -> str:
        result = client.images.generate(model="tiny-sd", prompt="a kite", size="64x64", extra_body={"seed": seed})
        assert result.data is not None
        return result.data[0].b64_json or ""

    assert image(3) == image(3) != image(4)


def test_default_size_is_the_model_native_size(client: openai.OpenAI) -> None:
    result = client.images.generate(model="tiny-sd", prompt="a cat")
    assert result.data is not None and png_size(base64.b64decode(result.data[0].b64_json or "")) == (32, 32)


def test_edit_with_mask_is_inpainting(client: openai.OpenAI) -> None:
    mask = _png((80, 64), "RGBA", (0, 0, 0, 0))  # fully transparent: repaint everything
    for fmt in ("b64_json", "url"):
        result = client.images.edit(
            model="tiny-sd",
            image=("in.png", _png((80, 64)), "image/png"),
            mask=("mask.png", mask, "image/png"),
            prompt="add a hat",
            response_format=fmt,
        )
        assert result.data is not None
        item = result.data[0]
        data = base64.b64decode(item.b64_json or "") if fmt == "b64_json" else _fetch(item.url or "")
        assert png_size(data) == (80, 64)


def test_edit_without_mask_is_image_to_image_at_the_requested_size(client: openai.OpenAI) -> None:
    result = client.images.edit(
        model="tiny-sd",
        image=("in.png", _png((80, 64)), "image/png"),
        prompt="winter",
        n=2,
        size="64x64",
    )
    assert result.data is not None
    assert [png_size(base64.b64decode(d.b64_json or "")) for d in result.data] == [(64, 64), (64, 64)]


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_output_format_for_generations_and_edits_in_both_response_formats(
    client: openai.OpenAI, worker: LiveWorker, fmt: Literal["jpeg", "webp"]
) -> None:
    media_type = f"image/{fmt}"
    for response_format in ("b64_json", "url"):
        made = client.images.generate(
            model="tiny-sd", prompt="a fox", size="96x64", output_format=fmt, response_format=response_format
        )
        edited = client.images.edit(
            model="tiny-sd",
            image=("in.png", _png((80, 64)), "image/png"),
            prompt="snow",
            size="64x96",
            output_format=fmt,
            output_compression=80,
            response_format=response_format,
        )
        for result, size in ((made, (96, 64)), (edited, (64, 96))):
            assert result.data is not None and result.output_format == fmt
            assert result.size == f"{size[0]}x{size[1]}"
            item = result.data[0]
            if response_format == "url":
                url = item.url or ""
                assert url.startswith(worker.url + "/v1/files/images/") and url.endswith(f".{fmt}")
                data = _fetch(url, media_type)
                with pytest.raises(urllib.error.HTTPError) as err:  # the same id under another extension
                    _fetch(url.removesuffix(f".{fmt}") + ".png")
                assert err.value.code == 404
            else:
                data = base64.b64decode(item.b64_json or "")
            assert _decoded(data) == (fmt.upper(), size)


def test_lower_output_compression_makes_a_smaller_jpeg(client: openai.OpenAI) -> None:
    def jpeg(compression: int) -> bytes:
        result = client.images.generate(
            model="tiny-sd",
            prompt="a field of flowers",
            size="128x128",
            output_format="jpeg",
            output_compression=compression,
            extra_body={"seed": 11},
        )
        assert result.data is not None
        return base64.b64decode(result.data[0].b64_json or "")

    best, small = jpeg(100), jpeg(20)
    assert _decoded(best) == _decoded(small) == ("JPEG", (128, 128))
    assert len(small) < len(best) and best == jpeg(100)
    png = client.images.generate(model="tiny-sd", prompt="x", size="64x64", output_compression=10)  # png ignores it
    assert png.data is not None and png.output_format == "png"
    assert _decoded(base64.b64decode(png.data[0].b64_json or "")) == ("PNG", (64, 64))


def _bad_request(call: Callable[[], object]) -> dict[str, object]:
    with pytest.raises(openai.BadRequestError) as err:
        call()
    body = err.value.body
    assert isinstance(body, dict) and body["type"] == "invalid_request_error" and body["message"]
    return body


def test_bad_inputs_are_400(client: openai.OpenAI) -> None:
    generate, edit = client.images.generate, client.images.edit
    for size in ("huge", "100x100", "8x8"):
        assert _bad_request(lambda: generate(model="tiny-sd", prompt="x", size=size))["param"] == "size"  # noqa: B023
    assert _bad_request(lambda: generate(model="tiny-sd", prompt=""))["param"] == "prompt"
    assert _bad_request(lambda: generate(model="tiny-sd", prompt="x", n=11))["param"] == "n"
    mismatch = _bad_request(
        lambda: edit(
            model="tiny-sd",
            image=("in.png", _png((80, 64)), "image/png"),
            mask=("mask.png", _png((64, 64), "RGBA", (0, 0, 0, 0)), "image/png"),
            prompt="x",
        )
    )
    assert mismatch["param"] == "mask" and "80x64" in str(mismatch["message"])
    broken = _bad_request(lambda: edit(model="tiny-sd", image=("in.png", b"not a png", "image/png"), prompt="x"))
    assert broken["param"] == "image"
    assert (
        _bad_request(lambda: edit(model="tiny-sd", image=("in.png", _png((64, 64))), prompt="x", size="3x3"))["param"]
        == "size"
    )


def test_bad_output_format_and_compression_are_400(client: openai.OpenAI) -> None:
    image = ("in.png", _png((64, 64)), "image/png")

    def generate(**fields: object) -> dict[str, object]:
        return _bad_request(lambda: client.images.generate(model="tiny-sd", prompt="x", extra_body=fields))

    def edit(**fields: object) -> dict[str, object]:
        return _bad_request(lambda: client.images.edit(model="tiny-sd", image=image, prompt="x", extra_body=fields))

    for fmt in ("gif", "jpg", "PNG", 1):
        body = generate(output_format=fmt)
        assert body["param"] == "output_format" and "png, jpeg, webp" in str(body["message"])
        assert edit(output_format=fmt)["param"] == "output_format"
    for compression in (101, -1, "50", 50.5, True):
        assert generate(output_format="jpeg", output_compression=compression)["param"] == "output_compression"
    for text in ("101", "-1", "high", "50.5"):
        assert edit(output_format="webp", output_compression=text)["param"] == "output_compression"


async def test_image_routes_need_the_secret_except_links(worker: LiveWorker) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(worker.url + "/v1/images/generations", json={"prompt": "x"}) as response:
            assert response.status == 401
        async with http.get(worker.url + "/v1/files/images/whatever.png") as response:
            assert response.status == 404  # public prefix, unknown id
        async with http.post(worker.url + "/v1/audio/speech", json={"input": "x"}, headers=worker.headers) as response:
            assert response.status == 404  # this worker serves images only
