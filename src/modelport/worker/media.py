"""Thin handlers for speech, transcription and images (OpenAI's /v1/audio/* and /v1/images/*).

Speech streams: the engine thread synthesises a sentence, encodes it and hands the bytes over at once,
so the client hears the first sentence while later ones are still being made (chunked transfer). The
first chunk is produced before the headers go out, so a failure there is still a plain error response.

Images asked for with `response_format: url` are kept in the worker's `ImageStore` for 10 minutes and
served, without the instance secret, at `GET /v1/files/images/{id}.png` (the id is 32 random bytes).
"""

from __future__ import annotations

import base64
import logging
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import aclosing
from typing import cast

import orjson
from aiohttp import web

from modelport.engines.audio import MEDIA_TYPES, AudioEncoder
from modelport.engines.media import ImageEngine, ImageRequest, SpeechEngine, TranscriptionEngine
from modelport.errors import NotFound
from modelport.worker import forms, media_parse, parse, transcripts
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
        if not cancel.is_set():
            yield encoder.finish()
    finally:
        encoder.close()


async def speech(request: web.Request) -> web.StreamResponse:
    """POST /v1/audio/speech: audio in `response_format`, streamed sentence by sentence."""
    state = request.app[STATE]
    engine = cast(SpeechEngine, state.engine)
    call = media_parse.speech_call(parse.decode_body(await request.read()), engine)
    cancel = threading.Event()
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


async def transcriptions(request: web.Request) -> web.Response:
    """POST /v1/audio/transcriptions (multipart)."""
    return await _transcribe(request, "transcribe")


async def translations(request: web.Request) -> web.Response:
    """POST /v1/audio/translations (multipart): speech in any language to English text."""
    return await _transcribe(request, "translate")


async def _transcribe(request: web.Request, task: str) -> web.Response:
    state = request.app[STATE]
    engine = cast(TranscriptionEngine, state.engine)
    call = media_parse.transcription_call(await forms.read_form(request), task)
    cancel = threading.Event()
    async with state.gate.slot():
        transcript = await state.gate.call(engine.transcribe, call.request, cancel, cancel=cancel)
    body, content_type = transcripts.render(transcript, call.response_format, task, call.words)
    if isinstance(body, str):
        return web.Response(text=body, content_type=content_type, charset="utf-8")
    return web.Response(body=orjson.dumps(body), content_type=content_type)


async def image_generations(request: web.Request) -> web.Response:
    """POST /v1/images/generations (JSON)."""
    state = request.app[STATE]
    call = media_parse.image_generation_call(parse.decode_body(await request.read()))
    return await _images(request, state, call, cast(ImageEngine, state.engine).generate)


async def image_edits(request: web.Request) -> web.Response:
    """POST /v1/images/edits (multipart): inpainting with `mask`, image to image without."""
    state = request.app[STATE]
    call = media_parse.image_edit_call(await forms.read_form(request))
    return await _images(request, state, call, cast(ImageEngine, state.engine).edit)


def _png_size(png: bytes) -> str:
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk right after the signature
    return f"{width}x{height}"


async def _images(
    request: web.Request,
    state: WorkerState,
    call: media_parse.ImageCall,
    run: Callable[[ImageRequest], list[bytes]],
) -> web.Response:
    async with state.gate.slot():
        pngs = await state.gate.call(run, call.request)
    data = []
    for png in pngs:
        if call.response_format == "url":
            image_id = state.images.put(png)
            data.append({"url": f"{request.scheme}://{request.host}{IMAGE_FILES_PREFIX}{image_id}.png"})
        else:
            data.append({"b64_json": base64.b64encode(png).decode("ascii")})
    body = {"created": int(time.time()), "data": data, "output_format": "png"}
    if pngs:
        body["size"] = _png_size(pngs[0])
    return json_response(body)


async def image_file(request: web.Request) -> web.Response:
    """GET /v1/files/images/{id}.png: an image made with `response_format: url`, while it lasts."""
    state = request.app[STATE]
    name = request.match_info["name"]
    found = state.images.get(name.removesuffix(".png")) if name.endswith(".png") else None
    if found is None:
        raise NotFound("no such image (images from response_format 'url' are kept for 10 minutes)")
    png, seconds_left = found
    headers = {"Cache-Control": f"private, max-age={max(0, int(seconds_left))}"}
    return web.Response(body=png, content_type="image/png", headers=headers)
