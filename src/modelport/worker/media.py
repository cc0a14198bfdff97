"""Thin handlers for speech, transcription and images (OpenAI's /v1/audio/* and /v1/images/*).

Speech streams: the engine thread synthesises a sentence, encodes it and hands the bytes over at once,
so the client hears the first sentence while later ones are still being made (chunked transfer). The
first chunk is produced before the headers go out, so a failure there is still a plain error response.
`stream_format: "sse"` sends the same chunks as base64 `speech.audio.delta` events. Transcriptions with
`stream=true` send a `transcript.text.delta` event per segment as Whisper decodes it.

Images asked for with `response_format: url` are kept in the worker's `ImageStore` for 10 minutes and
served, without the instance secret, at `GET /v1/files/images/{id}.{png|jpeg|webp}` (the id is 32 random
bytes; the extension and Content-Type are the request's `output_format`).
"""

from __future__ import annotations

import base64
import io
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import aclosing
from typing import cast

import orjson
from aiohttp import web

from modelport.engines.audio import MEDIA_TYPES, AudioEncoder
from modelport.engines.media import (
    IMAGE_FORMATS,
    ImageEngine,
    ImageRequest,
    Segment,
    SpeechEngine,
    TranscriptionEngine,
)
from modelport.errors import NotFound
from modelport.worker import forms, media_parse, transcripts
from modelport.worker.events import DONE, send_events, sse
from modelport.worker.state import STATE, WorkerState, json_response

log = logging.getLogger("modelport.worker")

IMAGE_FILES_PREFIX = "/v1/files/images/"


def _encoded_speech(engine: SpeechEngine, call: media_parse.SpeechCall, cancel: threading.Event) -> Iterator[bytes]:
    """Runs on the engine thread: sentences in, encoded audio bytes out."""
    encoder = AudioEncoder(call.response_format, engine.sample_rate)
    try:
        for pcm in engine.speak(call.request, cancel):
            data = encoder.push(pcm)
            if data:
                yield data
        tail = b"" if cancel.is_set() else encoder.finish()
        if tail:
            yield tail
    finally:
        encoder.close()


async def speech(request: web.Request) -> web.StreamResponse:
    """POST /v1/audio/speech: audio in `response_format`, streamed sentence by sentence."""
    state = request.app[STATE]
    engine = cast(SpeechEngine, state.engine)
    call = media_parse.speech_call(await request.read(), engine)
    cancel = threading.Event()
    if call.sse:
        return await send_events(request, _speech_events(state, engine, call, cancel), "speech")
    async with state.gate.slot():
        stream = state.gate.stream(lambda: _encoded_speech(engine, call, cancel), cancel)
        async with aclosing(stream) as chunks:
            first = await anext(chunks, b"")  # errors so far are still plain 4xx/5xx responses
            response = web.StreamResponse(headers={"Content-Type": MEDIA_TYPES[call.response_format]})
            response.enable_chunked_encoding()
            await response.prepare(request)
            try:
                await response.write(first)
                async for data in chunks:
                    await response.write(data)
            except ConnectionResetError:
                log.info("client went away mid-speech; synthesis stopped")
                return response
            except Exception:  # headers are out: cut the stream so the client sees it is incomplete
                log.exception("speech stream failed")
                if request.transport is not None:
                    request.transport.close()
                return response
    await response.write_eof()
    return response


async def _speech_events(
    state: WorkerState, engine: SpeechEngine, call: media_parse.SpeechCall, cancel: threading.Event
) -> AsyncGenerator[bytes, None]:
    """`stream_format: "sse"`: each sentence's encoded audio as a base64 `speech.audio.delta`, then
    `speech.audio.done` with usage (input tokens: what the voice model read; no output tokens: piper
    makes samples, not tokens)."""
    async with state.gate.slot():
        stream = state.gate.stream(lambda: _encoded_speech(engine, call, cancel), cancel)
        async with aclosing(stream) as chunks:
            async for data in chunks:
                yield sse({"type": "speech.audio.delta", "audio": base64.b64encode(data).decode("ascii")})
        tokens = await state.gate.call(engine.count_tokens, call.request.text)
    usage = {"input_tokens": tokens, "output_tokens": 0, "total_tokens": tokens}
    yield sse({"type": "speech.audio.done", "usage": usage})


async def transcriptions(request: web.Request) -> web.StreamResponse:
    """POST /v1/audio/transcriptions (multipart)."""
    return await _transcribe(request, "transcribe")


async def translations(request: web.Request) -> web.StreamResponse:
    """POST /v1/audio/translations (multipart): speech in any language to English text."""
    return await _transcribe(request, "translate")


async def _transcribe(request: web.Request, task: str) -> web.StreamResponse:
    state = request.app[STATE]
    engine = cast(TranscriptionEngine, state.engine)
    call = media_parse.transcription_call(await forms.read_form(request), task)
    cancel = threading.Event()
    if call.stream:
        return await send_events(request, _transcript_events(state, engine, call, cancel), "transcription")
    async with state.gate.slot():
        transcript = await state.gate.call(engine.transcribe, call.request, cancel, cancel=cancel)
    body, content_type = transcripts.render(transcript, call.response_format, task, call.words)
    if isinstance(body, str):
        return web.Response(text=body, content_type=content_type, charset="utf-8")
    return web.Response(body=orjson.dumps(body), content_type=content_type)


async def _transcript_events(
    state: WorkerState, engine: TranscriptionEngine, call: media_parse.TranscriptionCall, cancel: threading.Event
) -> AsyncGenerator[bytes, None]:
    """`stream=true`: a delta event per segment as Whisper decodes it, then the done event and [DONE]."""
    async with state.gate.slot():
        stream = state.gate.stream(lambda: engine.transcribe_stream(call.request, cancel), cancel)
        async with aclosing(stream) as items:
            async for item in items:
                if isinstance(item, Segment):
                    yield sse(transcripts.delta_event(item))
                else:
                    yield sse(transcripts.done_event(item))
    yield DONE


async def image_generations(request: web.Request) -> web.Response:
    """POST /v1/images/generations (JSON)."""
    state = request.app[STATE]
    call = media_parse.image_generation_call(await request.read())
    return await _images(request, state, call, cast(ImageEngine, state.engine).generate)


async def image_edits(request: web.Request) -> web.Response:
    """POST /v1/images/edits (multipart): inpainting with `mask`, image to image without."""
    state = request.app[STATE]
    call = media_parse.image_edit_call(await forms.read_form(request))
    return await _images(request, state, call, cast(ImageEngine, state.engine).edit)


def _image_size(image: bytes) -> str:
    """The "WxH" of a PNG, JPEG or WebP, from its header (Pillow comes with the image engines)."""
    from PIL import Image

    with Image.open(io.BytesIO(image)) as opened:
        width, height = opened.size
    return f"{width}x{height}"


async def _images(
    request: web.Request,
    state: WorkerState,
    call: media_parse.ImageCall,
    run: Callable[[ImageRequest], list[bytes]],
) -> web.Response:
    async with state.gate.slot():
        images = await state.gate.call(run, call.request)
    fmt = call.request.output_format
    data = []
    for image in images:
        if call.response_format == "url":
            name = state.images.put(image, suffix=f".{fmt}")
            data.append({"url": f"{request.scheme}://{request.host}{IMAGE_FILES_PREFIX}{name}"})
        else:
            data.append({"b64_json": base64.b64encode(image).decode("ascii")})
    body = {"created": int(time.time()), "data": data, "output_format": fmt}
    if images:
        body["size"] = _image_size(images[0])
    return json_response(body)


async def image_file(request: web.Request) -> web.Response:
    """GET /v1/files/images/{id}.{png|jpeg|webp}: an image made with `response_format: url`, while it lasts."""
    state = request.app[STATE]
    name = request.match_info["name"]
    media_type = IMAGE_FORMATS.get(name.rpartition(".")[2])
    found = state.images.get(name)  # the id ends in the extension it was stored with
    if found is None or media_type is None:
        raise NotFound("no such image (images from response_format 'url' are kept for 10 minutes)")
    image, seconds_left = found
    headers = {"Cache-Control": f"private, max-age={max(0, int(seconds_left))}"}
    return web.Response(body=image, content_type=media_type, headers=headers)
