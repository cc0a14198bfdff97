"""Thin handlers for health, models, embeddings, rerank (Jina and TEI) and tokenize."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from modelport.errors import BadRequest
from modelport.worker import chat_parse, parse, render, token_ids
from modelport.worker.state import STATE, json_response


async def health(request: web.Request) -> web.Response:
    """GET /health: 200 once the model is loaded, 503 while loading."""
    state = request.app[STATE]
    if state.ready:
        return json_response({"status": "ok"})
    return json_response({"status": "loading" if state.load_error is None else "failed"}, status=503)


async def models(request: web.Request) -> web.Response:
    """GET /v1/models: the one served model."""
    state = request.app[STATE]
    card = {
        "id": state.served_name,
        "object": "model",
        "created": int(time.time()),
        "owned_by": "modelport",
        "max_model_len": state.engine.max_model_len,
    }
    return json_response({"object": "list", "data": [card]})


def _check_dimensions(body: dict[str, object], native: int) -> None:
    dims = body.get("dimensions")
    if dims is not None and dims != native:
        raise BadRequest(
            f"this model only produces {native}-dimensional embeddings; 'dimensions' must be {native} or absent",
            param="dimensions",
        )


async def embeddings(request: web.Request) -> web.Response:
    """POST /v1/embeddings (OpenAI): `input` as text, or as token ids (`worker.token_ids`)."""
    state = request.app[STATE]
    body = parse.decode_body(await request.read())
    texts, ids = token_ids.embedding_texts(body.get("input"))
    if ids is not None:  # cl100k_base ids, as OpenAI's embedding models and LangChain's defaults take them
        decoder = request.app[token_ids.DECODER]
        texts = await asyncio.to_thread(lambda: [decoder.decode(i) for i in ids])
    fmt = body.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise BadRequest("'encoding_format' must be 'float' or 'base64'", param="encoding_format")
    _check_dimensions(body, state.engine.dimensions)
    input_type = body.get("input_type")
    if input_type is not None and not isinstance(input_type, str):
        raise BadRequest("'input_type' must be a string", param="input_type")
    result = await state.batchers.embed(texts, input_type=input_type)
    return json_response(render.embedding_list(state.served_name, result.vectors, fmt, result.prompt_tokens))


async def tei_embed(request: web.Request) -> web.Response:
    """POST /embed (TEI): {"inputs": str | [str], "normalize"?} -> [[float, ...], ...]."""
    state = request.app[STATE]
    body = parse.decode_body(await request.read())
    texts = parse.text_list(body.get("inputs"), "inputs")
    normalize = parse.flag(body, "normalize", True)
    result = await state.batchers.embed(texts, normalize=normalize)
    return json_response(result.vectors)


async def rerank(request: web.Request) -> web.Response:
    """POST /v1/rerank (Jina)."""
    state = request.app[STATE]
    body = parse.decode_body(await request.read())
    query = parse.query_text(body)
    documents = parse.rerank_documents(body.get("documents"))
    top_n = parse.positive_int(body, "top_n")
    with_docs = parse.flag(body, "return_documents", True)
    result = await state.batchers.score(query, documents)
    return json_response(
        render.jina_rerank(
            state.served_name, documents, result.scores, top_n, with_docs, result.prompt_tokens
        )
    )


async def tei_rerank(request: web.Request) -> web.Response:
    """POST /rerank (TEI): {"query", "texts", "return_text"?} -> [{"index", "score"(, "text")}]."""
    state = request.app[STATE]
    body = parse.decode_body(await request.read())
    query = parse.query_text(body)
    texts = parse.text_list(body.get("texts"), "texts")
    return_text = parse.flag(body, "return_text", False)
    result = await state.batchers.score(query, texts)
    return json_response(render.tei_rerank(texts, result.scores, return_text))


async def tokenize(request: web.Request) -> web.Response:
    """POST /v1/tokenize: {"prompt"} or {"messages", "tools"} -> {"count", "tokens", "max_model_len"}.

    Tools count as the chat template renders them into the prompt (Claude Code sends two dozen)."""
    state = request.app[STATE]
    body = parse.decode_body(await request.read())
    tools: tuple[dict[str, Any], ...] = ()
    if "messages" in body:
        prompt, messages, tools = None, parse.chat_messages(body), chat_parse.tools(body)
    elif isinstance(body.get("prompt"), str):
        prompt, messages = body["prompt"], None
    else:
        raise BadRequest("send 'prompt' (a string) or 'messages'", param="prompt")
    async with state.gate.slot():
        tokens = await state.gate.call(state.engine.tokenize, prompt, messages, tools)
    return json_response(
        {"count": len(tokens), "tokens": tokens, "max_model_len": state.engine.max_model_len}
    )
