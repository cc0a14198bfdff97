"""The UI's playgrounds in a real browser against the built-in models: chat streamed token by token (side by
side, three protocols), embeddings, rerank, speech, transcription (a file and the microphone), images (generate,
and edit where a mask is painted) on the tiny diffusers pipeline."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from modelport.testing import FakeUpstream
from tests.engines.tiny_diffusion import build_tiny_pipeline, require_images
from tests.harness import LiveGateway
from tests.ui.conftest import Tab


def test_chat_playground_streams_an_answer(tab: Tab, ui_gateway: LiveGateway) -> None:
    tab.sign_in(ui_gateway.admin_key)
    tab.go("chat")
    tab.page.get_by_label("Model", exact=True).select_option("smollm2-135m-instruct")
    tab.page.get_by_label("System prompt").fill("You are a concise assistant.")
    tab.page.get_by_label("Max tokens").fill("24")
    tab.page.get_by_label("Message").fill("Name three colours.")
    tab.page.evaluate("""() => {
        window.__updates = 0;
        new MutationObserver(() => { window.__updates += 1; })
            .observe(document.querySelector("main"), {subtree: true, characterData: true, childList: true});
    }""")
    tab.page.get_by_role("button", name="Send").click()
    stats = tab.page.locator(".column .stats")
    stats.filter(has_text="tokens/s").wait_for(timeout=60_000)
    answer = tab.page.locator(".column .answer").first.inner_text()
    assert answer.strip(), "no answer"
    assert tab.page.evaluate("() => window.__updates") > 5  # it arrived token by token, not in one piece
    assert re.search(r"TTFT \d+ ms · \d+ tokens · [\d.]+ tokens/s", stats.inner_text())
    snippet = tab.page.locator(".snippets pre").first.inner_text()
    assert "/v1/chat/completions" in snippet and "$MODELPORT_API_KEY" in snippet and ui_gateway.admin_key not in snippet
    tab.shot("chat-answer")
    tab.page.get_by_label("Protocol").select_option("anthropic")
    tab.page.get_by_label("Message").fill("And one more?")
    tab.page.get_by_role("button", name="Send").click()
    tab.page.locator(".column .answer").nth(1).filter(has_text=re.compile(r"\S")).wait_for(timeout=60_000)
    tab.page.locator(".snippets pre", has_text="/v1/messages").wait_for()
    assert tab.errors == []


def test_embeddings_rerank_speech_and_transcription_playgrounds(tab: Tab, ui_gateway: LiveGateway,
                                                                 tmp_path: pytest.TempPathFactory) -> None:
    tab.sign_in(ui_gateway.admin_key)
    tab.go("embeddings")
    tab.page.get_by_role("button", name="Embed").click()
    cells = tab.page.locator("#similarity tbody td")
    cells.first.wait_for()
    values = [float(v) for v in cells.all_inner_texts()]
    assert len(values) == 9 and all(abs(values[i * 4] - 1) < 1e-3 for i in range(3))
    assert values[1] > values[2]  # the cat and the kitten are closer than the cat and the stock market
    tab.shot("embeddings-result")

    tab.go("rerank")
    tab.page.get_by_role("button", name="Rerank").click()
    first = tab.page.locator("#rerank-results li").first
    first.wait_for()
    assert "Forgot password" in first.inner_text()
    tab.shot("rerank-result")

    tab.go("speech")
    tab.page.get_by_label("Format").select_option("wav")
    tab.page.get_by_role("button", name="Speak").click()
    audio = tab.page.locator("#speech-audio")
    audio.wait_for()
    duration = tab.page.evaluate("""async () => {
        const audio = document.getElementById("speech-audio");
        if (audio.readyState < 1) await new Promise((ok, fail) => { audio.onloadedmetadata = ok; audio.onerror = fail; });
        return audio.duration;
    }""")
    assert 0.5 < duration < 10, duration
    tab.shot("speech-result")

    wav = httpx.post(ui_gateway.v1 + "/audio/speech", headers={"authorization": f"Bearer {ui_gateway.admin_key}"},
                     json={"model": "piper-en-us-joe", "input": "The quick brown fox jumps over the lazy dog.",
                           "voice": "alloy", "response_format": "wav"}, timeout=60).content
    upload = tmp_path / "fox.wav"  # type: ignore[operator]
    upload.write_bytes(wav)
    tab.go("transcription")
    tab.page.get_by_label("Audio file").set_input_files(str(upload))
    tab.page.get_by_role("button", name="Transcribe").click()
    text = tab.page.locator("#transcription-text")
    text.wait_for(timeout=60_000)
    assert "fox" in text.inner_text().lower()
    assert tab.page.locator("table.grid tbody tr").count() >= 1  # timed segments
    tab.shot("transcription-result")
    assert tab.errors == []


@pytest.fixture(scope="module")
def tiny_images(ui_gateway: LiveGateway, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_images()
    folder = build_tiny_pipeline(Path(tmp_path_factory.mktemp("ui-tiny-sd")) / "pipeline")
    spec = {"name": "ui-tiny-sd", "engine": "diffusers", "model": str(folder), "category": "image",
            "engine_args": {"steps": "2"}}
    assert ui_gateway.api("POST", "/api/deployments", spec).status_code == 201
    ui_gateway.wait_ready("ui-tiny-sd", timeout=180)
    yield "ui-tiny-sd"
    ui_gateway.api("DELETE", "/api/deployments/ui-tiny-sd")


def test_images_playground_generates(tab: Tab, ui_gateway: LiveGateway, tiny_images: str) -> None:
    tab.sign_in(ui_gateway.admin_key)
    tab.go("images")
    tab.page.get_by_label("Model", exact=True).select_option(tiny_images)
    tab.page.get_by_label("Size").select_option("64x64")
    tab.page.get_by_label("Count").fill("2")
    tab.page.get_by_role("button", name="Generate").click()
    images = tab.page.locator("#images-results img")
    images.first.wait_for(timeout=120_000)
    sizes = tab.page.evaluate("() => Array.from(document.querySelectorAll('#images-results img'), "
                              "i => [i.naturalWidth, i.naturalHeight])")
    assert sizes == [[64, 64], [64, 64]]
    tab.shot("images-result")
    assert tab.errors == []


def test_chat_side_by_side_and_the_completions_protocol(tab: Tab, ui_gateway: LiveGateway, fake: FakeUpstream) -> None:
    ui_gateway.deploy("ui-compare", [fake.url], upstream_model="fake-model")
    try:
        tab.sign_in(ui_gateway.admin_key)
        tab.go("chat")
        tab.page.get_by_label("Model", exact=True).select_option("smollm2-135m-instruct")
        tab.page.get_by_label("Compare with").select_option("ui-compare")
        tab.page.get_by_label("Max tokens").fill("12")
        tab.page.get_by_label("Message").fill("Hello there.")
        tab.page.get_by_role("button", name="Send").click()
        for model in ("smollm2-135m-instruct", "ui-compare"):
            column = tab.page.locator(f'.column[data-model="{model}"]')
            column.locator(".stats", has_text="tokens/s").wait_for(timeout=60_000)
            assert column.locator(".answer").inner_text().strip()
        tab.shot("chat-side-by-side")
        tab.page.get_by_role("button", name="New conversation").click()
        tab.page.get_by_label("Compare with").select_option("")
        tab.page.get_by_label("Protocol").select_option("completions")
        tab.page.get_by_label("Message").fill("The capital of France is")
        tab.page.get_by_role("button", name="Send").click()
        tab.page.locator(".column .stats", has_text="tokens/s").wait_for(timeout=60_000)
        assert tab.page.locator(".column .answer").first.inner_text().strip()
        assert "client.completions.create(" in tab.page.locator(".snippets pre").nth(1).inner_text()
        tab.go("dashboard")  # the metrics of what just ran: mean time to first token per deployment
        row = tab.row("smollm2-135m-instruct")
        row.locator("td.ttft", has_text=re.compile(r"^\d+ ms$")).wait_for()
        tab.shot("dashboard-after-requests")
        assert tab.errors == []
    finally:
        ui_gateway.api("DELETE", "/api/deployments/ui-compare")


def test_images_playground_edits_where_the_mask_is_painted(tab: Tab, ui_gateway: LiveGateway, tiny_images: str,
                                                           tmp_path: Path) -> None:
    from PIL import Image

    source = tmp_path / "green.png"
    Image.new("RGBA", (64, 64), (20, 160, 90, 255)).save(source, format="PNG")
    tab.sign_in(ui_gateway.admin_key)
    tab.go("images")
    tab.page.get_by_label("Model", exact=True).select_option(tiny_images)
    tab.page.get_by_label("Mode", exact=True).select_option("edit")
    tab.page.get_by_label("Image", exact=True).set_input_files(str(source))
    canvas = tab.page.locator("#images-mask-canvas")
    canvas.wait_for()
    tab.page.wait_for_function("() => document.getElementById('images-mask-canvas').width === 256")
    box = canvas.bounding_box()
    assert box is not None
    tab.page.mouse.move(box["x"] + 40, box["y"] + 40)
    tab.page.mouse.down()
    tab.page.mouse.move(box["x"] + 120, box["y"] + 120, steps=8)
    tab.page.mouse.up()
    tab.page.get_by_label("Size").select_option("64x64")
    tab.page.evaluate("""() => {
        const original = window.fetch;
        window.fetch = async (url, options) => {
            if (String(url).endsWith("/v1/images/edits")) {
                const body = options.body;
                const mask = await createImageBitmap(body.get("mask"));
                const canvas = new OffscreenCanvas(mask.width, mask.height);
                canvas.getContext("2d").drawImage(mask, 0, 0);
                const alpha = canvas.getContext("2d").getImageData(0, 0, mask.width, mask.height).data
                    .filter((_, i) => i % 4 === 3);
                window.__sent = {fields: Array.from(body.keys()), image: body.get("image").name,
                                 size: [mask.width, mask.height], clear: alpha.filter((a) => a === 0).length,
                                 pixels: alpha.length};
            }
            return original(url, options);
        };
    }""")
    tab.page.get_by_role("button", name="Edit", exact=True).click()
    tab.page.locator("#images-results img").first.wait_for(timeout=120_000)
    size = tab.page.evaluate("() => { const i = document.querySelector('#images-results img');"
                             " return [i.naturalWidth, i.naturalHeight]; }")
    assert size == [64, 64]
    sent = tab.page.evaluate("() => window.__sent")
    assert {"model", "prompt", "image", "mask"} <= set(sent["fields"]) and sent["image"] == "green.png"
    assert sent["size"] == [64, 64] and 0 < sent["clear"] < sent["pixels"]  # transparent only where painted
    tab.shot("images-edit")
    assert tab.errors == []


def test_transcription_records_from_the_microphone(tab: Tab, ui_gateway: LiveGateway) -> None:
    tab.sign_in(ui_gateway.admin_key)
    tab.go("transcription")
    tab.page.get_by_role("button", name="Record from microphone").click()
    tab.page.get_by_role("button", name="Stop recording").wait_for()
    tab.page.wait_for_timeout(1500)
    tab.page.get_by_role("button", name="Stop recording").click()
    tab.page.get_by_text(re.compile(r"Recorded [\d.]+ KiB")).wait_for()
    with tab.page.expect_response("**/v1/audio/transcriptions") as answered:
        tab.page.get_by_role("button", name="Transcribe").click()
    assert answered.value.status == 200  # the browser's own recording (WebM/Opus) decodes and transcribes
    tab.page.locator("#transcription-text").wait_for(state="attached", timeout=60_000)
    assert "recording.webm" in tab.page.locator(".snippets pre").first.inner_text()
    assert tab.errors == []
