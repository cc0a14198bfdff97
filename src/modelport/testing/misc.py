"""Models, echo, served files, health, and the ``/_fake`` introspection routes."""

from __future__ import annotations

import base64
import hashlib
import time

import orjson
from aiohttp import web

from modelport.testing.chat import CONTEXT_TOKENS
from modelport.testing.state import STATE, FakeState
from modelport.testing.streams import ChunkWriter
from modelport.testing.wire import Call, FakeHTTPError, error_response, json_response


def _model_card(model: str, created: int) -> dict[str, object]:
    return {"id": model, "object": "model", "created": created, "owned_by": "modelport-fake",
            "max_model_len": CONTEXT_TOKENS}


async def list_models(request: web.Request, call: Call) -> web.StreamResponse:
    """GET /v1/models: the served models; 503 while the fake is marked unhealthy."""
    if not call.state.healthy:
        raise FakeHTTPError(503, "the fake upstream is marked unhealthy")
    created = int(time.time())
    return json_response({"object": "list", "data": [_model_card(m, created) for m in call.state.models]})


async def get_model(request: web.Request, call: Call) -> web.StreamResponse:
    """GET /v1/models/{id}: one model card, or 404."""
    if not call.state.healthy:
        raise FakeHTTPError(503, "the fake upstream is marked unhealthy")
    model = request.match_info["model"]
    call.model({"model": model})
    return json_response(_model_card(model, int(time.time())))


async def health(request: web.Request) -> web.StreamResponse:
    """GET /health (as vLLM serves it): 200 when healthy, 503 otherwise."""
    return web.Response(status=200 if request.app[STATE].healthy else 503)


async def echo(request: web.Request, call: Call) -> web.StreamResponse:
    """ANY /echo/{tail}: describe the request; ``?stream=N`` streams N text lines instead."""
    lines = request.query.get("stream")
    if lines is not None and lines.isdigit():
        writer = await ChunkWriter(request, call.controls, "text/plain; charset=utf-8").open()
        for number in range(int(lines)):
            await writer.send(f"line {number}\n".encode())
        return await writer.finish()
    return json_response({
        "method": request.method, "path": request.path, "query": request.query_string,
        "headers": {k.lower(): v for k, v in request.headers.items()},
        "body_sha256": hashlib.sha256(call.body).hexdigest(), "body_length": len(call.body)})


async def served_file(request: web.Request) -> web.StreamResponse:
    """GET /files/{id}.png: an image generated with ``response_format: url``."""
    data = request.app[STATE].files.get(request.match_info["name"])
    if data is None:
        return error_response(404, "no such file")
    return web.Response(body=data, content_type="image/png")


def _recorded(state: FakeState) -> list[dict[str, object]]:
    return [{"method": r.method, "path": r.path, "query": r.query, "headers": r.headers,
             "body": base64.b64encode(r.body).decode()} for r in list(state.requests)]


async def fake_requests(request: web.Request) -> web.StreamResponse:
    """GET /_fake/requests lists what was recorded (bodies base64); DELETE clears it."""
    state = request.app[STATE]
    if request.method == "DELETE":
        state.requests.clear()
        return web.Response(status=204)
    return json_response(_recorded(state))


async def fake_health(request: web.Request) -> web.StreamResponse:
    """POST /_fake/health ``{"healthy": bool}`` switches what GET /v1/models answers."""
    try:
        healthy = orjson.loads(await request.read())["healthy"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return error_response(400, 'expected {"healthy": true|false}')
    request.app[STATE].healthy = bool(healthy)
    return json_response({"healthy": bool(healthy)})


async def fake_stats(request: web.Request) -> web.StreamResponse:
    """GET /_fake/stats: counters of received and cancelled requests."""
    state = request.app[STATE]
    return json_response({"cancelled": state.cancelled, "received": state.received,
                          "recorded": len(state.requests), "healthy": state.healthy})
