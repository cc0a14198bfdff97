"""Thin handlers for the OpenAI-style inference routes: parse → resolve → relay."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelport.api.model_cards import context_length, model_card, model_cards
from modelport.api.request import Request, until_disconnect
from modelport.api.responses import send_json
from modelport.errors import MissingModel, ModelNotFound
from modelport.multipart import spool_multipart
from modelport.relay.body import routing_fields, with_model
from modelport.relay.sse import openai_error_event
from modelport.routing.capabilities import BackendApi
from modelport.types import Send
from modelport.usage.stream_usage import STREAMED_USAGE_PATHS, with_usage_asked

if TYPE_CHECKING:
    from modelport.gateway import Gateway


def missing_model() -> MissingModel:
    return MissingModel("You must provide a `model` parameter.", param="model")


async def relay_json(gw: Gateway, request: Request, send: Send, upstream_path: str) -> None:
    """A JSON request (chat, completions, embeddings, images, speech, rerank) to the model it names."""
    body = await request.read_json(gw.settings.max_request_bytes)
    await relay_json_body(gw, request, send, upstream_path, body)


async def relay_json_body(gw: Gateway, request: Request, send: Send, upstream_path: str, body: bytes) -> None:
    """Relay a JSON body already read."""
    fields = routing_fields(body)
    model = fields.model
    if not model:
        raise missing_model()
    route = await gw.router.resolve_current(model, request.key)
    if route.renames_model:
        body = with_model(body, route.upstream_model)
    if fields.stream and upstream_path in STREAMED_USAGE_PATHS and route.capabilities.api is not BackendApi.TEI:
        body, send = with_usage_asked(body, send)  # counted from the usage chunk, which the client never sees
    upstream = request.posted_to(route, upstream_path, body, len(body), openai_error_event)
    await until_disconnect(request.receive, gw.relay.forward(route, upstream, send))


async def relay_multipart(gw: Gateway, request: Request, send: Send, upstream_path: str) -> None:
    """A multipart upload (transcription, image edit); `model` may be any field, before or after the file."""
    content_type = request.require_multipart()
    request.check_declared_length(gw.settings.max_request_bytes)
    settings = gw.settings
    body = await spool_multipart(
        request.receive, content_type, settings.max_request_bytes, settings.spool_memory_bytes
    )
    try:
        if not body.model:
            raise missing_model()
        route = await gw.router.resolve_current(body.model, request.key)
        if route.renames_model:
            renamed = body.with_fields({"model": route.upstream_model})
            body.close()
            body = renamed
        upstream = request.posted_to(route, upstream_path, body.payload, body.size, openai_error_event)
        await until_disconnect(request.receive, gw.relay.forward(route, upstream, send))
    finally:
        body.close()


async def list_models(gw: Gateway, request: Request, send: Send) -> None:
    """Deployments this key may use that have a ready instance, in OpenAI's list shape, with each one's
    context length where its instance tells it (`model_cards`)."""
    cards = await model_cards(gw.relay, gw.router.visible_routes(request.key))
    await send_json(send, 200, {"object": "list", "data": cards})


async def get_model(gw: Gateway, request: Request, send: Send) -> None:
    model = request.path_params["model"]
    route = await gw.router.resolve_current(model, request.key)
    if not route.is_ready:
        raise ModelNotFound(f"The model `{model}` does not exist or you do not have access to it.", param="model")
    await send_json(send, 200, model_card(route, await context_length(gw.relay, route)))
