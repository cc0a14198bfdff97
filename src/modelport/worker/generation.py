"""Chat and completions handlers: full responses and SSE streams over the engine's event generator."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import aclosing

from aiohttp import web

from modelport.engines.base import Finish, GenerationEvent, GenerationRequest, TextDelta, ToolCallDelta
from modelport.worker import parse, render
from modelport.worker.events import DONE, SSE_HEADERS, error_event, sse, write_quietly
from modelport.worker.state import STATE, WorkerState, json_response

log = logging.getLogger("modelport.worker")

Generate = Callable[[GenerationRequest, threading.Event], Iterator[GenerationEvent]]


def _choice_request(request: GenerationRequest, j: int) -> GenerationRequest:
    """The j-th of n choices: a given seed is offset so choices can differ, as OpenAI's do."""
    if j == 0 or request.seed is None:
        return request
    return dataclasses.replace(request, seed=(request.seed + j) & 0x7FFFFFFF)


def _collect(
    generate: Generate, request: GenerationRequest, cancel: threading.Event
) -> list[GenerationEvent]:
    return list(generate(request, cancel))


async def chat_completions(request: web.Request) -> web.StreamResponse:
    """POST /v1/chat/completions."""
    return await _generation(request, chat=True)


async def completions(request: web.Request) -> web.StreamResponse:
    """POST /v1/completions."""
    return await _generation(request, chat=False)


async def _generation(request: web.Request, *, chat: bool) -> web.StreamResponse:
    state = request.app[STATE]
    call = parse.generation_call(await request.read(), chat=chat)
    generate: Generate = state.engine.chat if chat else state.engine.complete
    async with state.gate.slot():
        if call.stream:
            return await _stream(request, state, call, generate, chat)
        return await _full(state, call, generate, chat)


async def _full(
    state: WorkerState, call: parse.GenerationCall, generate: Generate, chat: bool
) -> web.Response:
    # Every choice at once: an engine that batches decodes them together; a serial one takes them in turn.
    wanted = [
        (p * call.n + j, j, _choice_request(base, j)) for p, base in enumerate(call.requests) for j in range(call.n)
    ]
    outcomes = await asyncio.gather(*(_run_choice(state, generate, req) for _, _, req in wanted))
    choices: list[render.ChoiceText] = []
    prompt_tokens = completion_tokens = 0
    for (index, j, _), events in zip(wanted, outcomes, strict=True):
        choice, finish = _choice_text(index, events)
        choices.append(choice)
        if finish is not None:
            prompt_tokens += finish.prompt_tokens if j == 0 else 0
            completion_tokens += finish.completion_tokens
    make = render.chat_completion if chat else render.text_completion
    logprobs = call.requests[0].logprobs
    return json_response(make(state.served_name, choices, prompt_tokens, completion_tokens, logprobs))


async def _run_choice(state: WorkerState, generate: Generate, request: GenerationRequest) -> list[GenerationEvent]:
    cancel = threading.Event()
    return await state.gate.call(_collect, generate, request, cancel, cancel=cancel)


def _choice_text(index: int, events: list[GenerationEvent]) -> tuple[render.ChoiceText, Finish | None]:
    """One choice of a whole answer from its events, and its `Finish`."""
    choice, finish = render.ChoiceText(index=index), None
    for event in events:
        if isinstance(event, TextDelta):
            choice.text += event.text
            choice.logprobs.extend(event.logprobs)
        elif isinstance(event, ToolCallDelta):
            choice.add_tool_delta(event.index, event.arguments, event.id, event.name)
        else:
            finish = event
            choice.finish_reason, choice.stop_reason = event.finish_reason, event.stop_reason
    return choice, finish


async def _stream(
    request: web.Request, state: WorkerState, call: parse.GenerationCall, generate: Generate, chat: bool
) -> web.StreamResponse:
    first_cancel = threading.Event()
    # Build the first generator on the engine thread before the headers go out, so that bad input
    # (a template error, a prompt longer than the context) is still a plain 400.
    first = await state.gate.call(generate, call.requests[0], first_cancel, cancel=first_cancel)
    response = web.StreamResponse(headers=SSE_HEADERS)
    try:
        await response.prepare(request)
    except BaseException:  # the engine may have started on it already: stop it
        first_cancel.set()
        raise
    maker = render.ChunkMaker(
        state.served_name, chat, call.requests[0].logprobs, id=render.new_id("chatcmpl" if chat else "cmpl")
    )
    totals = [0, 0]
    try:
        for p, base in enumerate(call.requests):
            for j in range(call.n):
                index = p * call.n + j
                if index == 0:
                    events, cancel = first, first_cancel
                else:
                    cancel = threading.Event()
                    events = generate(_choice_request(base, j), cancel)  # lazily run on the engine thread
                await _stream_choice(response, state, maker, index, events, cancel, totals, j == 0)
        if call.include_usage:
            await response.write(sse(maker.usage_chunk(totals[0], totals[1])))
        await response.write(DONE)
    except ConnectionResetError:
        log.info("client went away mid-stream; generation stopped")
        return response
    except Exception as exc:  # headers are out: report as an error event, then end the stream
        log.exception("stream failed")
        await write_quietly(response, error_event(exc))
    return response


async def _stream_choice(
    response: web.StreamResponse,
    state: WorkerState,
    maker: render.ChunkMaker,
    index: int,
    events: Iterator[GenerationEvent],
    cancel: threading.Event,
    totals: list[int],
    count_prompt: bool,
) -> None:
    if maker.chat:
        await response.write(sse(maker.delta(index, "", [], role=True)))
    async with aclosing(state.gate.stream(lambda: events, cancel)) as stream:
        async for event in stream:
            if isinstance(event, TextDelta):
                await response.write(sse(maker.delta(index, event.text, list(event.logprobs))))
            elif isinstance(event, ToolCallDelta):
                await response.write(sse(maker.tool_delta(index, event.index, event.arguments, event.id, event.name)))
            elif isinstance(event, Finish):
                totals[0] += event.prompt_tokens if count_prompt else 0
                totals[1] += event.completion_tokens
                finish = maker.delta(index, "", [], finish=event.finish_reason, stop_reason=event.stop_reason)
                await response.write(sse(finish))
