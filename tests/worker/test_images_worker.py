"""A live diffusers worker on a tiny randomly initialised pipeline, driven with the openai SDK:
generations and edits at the requested size in both response formats, temporary image links, 400s."""

from __future__ import annotations

import base64
import io
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

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


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # no secret: the id is the credential
        assert response.headers["Content-Type"] == "image/png"
        return bytes(response.read())


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


async def test_image_routes_need_the_secret_except_links(worker: LiveWorker) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(worker.url + "/v1/images/generations", json={"prompt": "x"}) as response:
            assert response.status == 401
        async with http.get(worker.url + "/v1/files/images/whatever.png") as response:
            assert response.status == 404  # public prefix, unknown id
        async with http.post(worker.url + "/v1/audio/speech", json={"input": "x"}, headers=worker.headers) as response:
            assert response.status == 404  # this worker serves images only
