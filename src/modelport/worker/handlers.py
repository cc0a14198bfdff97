"""Thin handlers for health, models, embeddings, rerank (Jina and TEI) and tokenize."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from modelport.errors import BadRequest
from modelport.protocols.embeddings import EmbeddingRequest, TeiEmbedRequest
from modelport.protocols.openai_generation import TokenizeRequest
from modelport.protocols.rerank import JinaRerankRequest, TeiRerankRequest, Text
from modelport.protocols.validation import decode_request
from modelport.worker import chat_parse, render, token_ids
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


def _check_dimensions(dimensions: int | None, native: int) -> None:
    if dimensions is not None and dimensions != native:
        raise BadRequest(
            f"this model only produces {native}-dimensional embeddings; 'dimensions' must be {native} or absent",
            param="dimensions",
        )


def _text(value: str | Text) -> str:
    return value if isinstance(value, str) else value.text


def _texts(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


async def embeddings(request: web.Request) -> web.Response:
    """POST /v1/embeddings (OpenAI): `input` as text, or as token ids (`worker.token_ids`)."""
    state = request.app[STATE]
    body = decode_request(await request.read(), EmbeddingRequest)
    texts, ids = token_ids.embedding_texts(body.input)
    if ids is not None:  # cl100k_base ids, as OpenAI's embedding models and LangChain's defaults take them
        decoder = request.app[token_ids.DECODER]
        texts = await asyncio.to_thread(lambda: [decoder.decode(i) for i in ids])
    _check_dimensions(body.dimensions, state.engine.dimensions)
    result = await state.batchers.embed(texts, input_type=body.input_type)
    fmt = body.encoding_format or "float"
    return json_response(render.embedding_list(state.served_name, result.vectors, fmt, result.prompt_tokens))


async def tei_embed(request: web.Request) -> web.Response:
    """POST /embed (TEI): {"inputs": str | [str], "normalize"?} -> [[float, ...], ...]."""
    state = request.app[STATE]
    body = decode_request(await request.read(), TeiEmbedRequest)
    normalize = True if body.normalize is None else body.normalize
    result = await state.batchers.embed(_texts(body.inputs), normalize=normalize)
    return json_response(result.vectors)


async def rerank(request: web.Request) -> web.Response:
    """POST /v1/rerank (Jina)."""
    state = request.app[STATE]
    body = decode_request(await request.read(), JinaRerankRequest)
    documents = [_text(document) for document in body.documents]
    with_docs = body.return_documents is not False
    result = await state.batchers.score(_text(body.query), documents)
    return json_response(
        render.jina_rerank(
            state.served_name, documents, result.scores, body.top_n, with_docs, result.prompt_tokens
        )
    )


async def tei_rerank(request: web.Request) -> web.Response:
    """POST /rerank (TEI): {"query", "texts", "return_text"?} -> [{"index", "score"(, "text")}]."""
    state = request.app[STATE]
    body = decode_request(await request.read(), TeiRerankRequest)
    texts = _texts(body.texts)
    result = await state.batchers.score(_text(body.query), texts)
    return json_response(render.tei_rerank(texts, result.scores, bool(body.return_text)))


async def tokenize(request: web.Request) -> web.Response:
    """POST /v1/tokenize: {"prompt"} or {"messages", "tools"} -> {"count", "tokens", "max_model_len"}.

    Tools count as the chat template renders them into the prompt (Claude Code sends two dozen)."""
    state = request.app[STATE]
    body = decode_request(await request.read(), TokenizeRequest)
    tools: tuple[dict[str, Any], ...] = ()
    prompt: str | None = None
    messages: tuple[dict[str, Any], ...] | None = None
    if body.messages is not None:
        messages, tools = chat_parse.chat_messages(body.messages), chat_parse.tools(body.tools)
    elif body.prompt is not None:
        prompt = body.prompt
    else:
        raise BadRequest("send 'prompt' (a string) or 'messages'", param="prompt")
    async with state.gate.slot():
        tokens = await state.gate.call(state.engine.tokenize, prompt, messages, tools)
    return json_response(
        {"count": len(tokens), "tokens": tokens, "max_model_len": state.engine.max_model_len}
    )
