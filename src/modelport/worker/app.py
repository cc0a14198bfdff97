"""The worker's aiohttp app: the route table, bearer-secret auth, OpenAI-shaped errors, and serving.

Every route except `GET /health` and the unguessable image links (`GET /v1/files/images/{id}.{ext}`)
needs `Authorization: Bearer <MODELPORT_INSTANCE_SECRET>` when a secret is set, so the gateway's keys
cannot be bypassed by calling the instance port directly.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import signal
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from modelport.config import MAX_REQUEST_BYTES, ListenerLimits
from modelport.engines import EngineOptions, create_engine
from modelport.engines.args import parse_engine_args
from modelport.engines.base import (
    Capability,
    ConcurrentEngine,
    ContextLengthExceeded,
    EngineUnavailable,
    InvalidEngineInput,
)
from modelport.engines.catalog import engine_args_of
from modelport.errors import (
    AuthenticationFailed,
    BadRequest,
    ModelportError,
    NotFound,
    PayloadTooLarge,
)
from modelport.heap import freeze_long_lived_objects
from modelport.worker import generation, handlers, media
from modelport.worker.batcher import BatchLimits, EngineBatchers
from modelport.worker.gate import InferenceGate, StillLoading
from modelport.worker.state import STATE, WorkerState
from modelport.worker.token_ids import DECODER, Cl100kDecoder

log = logging.getLogger("modelport.worker")

SECRET_ENV = "MODELPORT_INSTANCE_SECRET"
HEAD_BYTES = ListenerLimits().max_head_bytes
PUBLIC_PATHS = frozenset({"/health"})
#: Path prefixes served without the secret: each URL below them carries a 32-byte random id.
PUBLIC_PREFIXES = (media.IMAGE_FILES_PREFIX,)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: THE route table: method, path, handler, the capability the engine needs (None: always served).
ROUTES: tuple[tuple[str, str, Handler, Capability | None], ...] = (
    ("GET", "/health", handlers.health, None),
    ("GET", "/v1/models", handlers.models, None),
    ("POST", "/v1/chat/completions", generation.chat_completions, Capability.CHAT),
    ("POST", "/v1/completions", generation.completions, Capability.COMPLETIONS),
    ("POST", "/v1/embeddings", handlers.embeddings, Capability.EMBEDDINGS),
    ("POST", "/embed", handlers.tei_embed, Capability.EMBEDDINGS),
    ("POST", "/v1/rerank", handlers.rerank, Capability.RERANK),
    ("POST", "/rerank", handlers.tei_rerank, Capability.RERANK),
    ("POST", "/v1/tokenize", handlers.tokenize, Capability.TOKENIZE),
    ("POST", "/v1/audio/speech", media.speech, Capability.SPEECH),
    ("POST", "/v1/audio/transcriptions", media.transcriptions, Capability.TRANSCRIPTION),
    ("POST", "/v1/audio/translations", media.translations, Capability.TRANSCRIPTION),
    ("POST", "/v1/images/generations", media.image_generations, Capability.IMAGE_GENERATION),
    ("POST", "/v1/images/edits", media.image_edits, Capability.IMAGE_EDIT),
    ("GET", media.IMAGE_FILES_PREFIX + "{name}", media.image_file, Capability.IMAGE_GENERATION),
)


#: Routes in Hugging Face TEI's wire format, whose errors are TEI's `{"error": ..., "error_type": ...}`.
TEI_PATHS = frozenset({"/embed", "/rerank"})


def _tei_error_type(status: int) -> str:
    if status in (429, 503):
        return "Overloaded"
    if status in (401, 403):
        return "Unauthorized"
    return "Validation" if status < 500 else "Backend"


def _error_response(err: ModelportError, *, tei: bool = False) -> web.Response:
    headers = {k.decode(): v.decode() for k, v in err.headers()}
    body = orjson.dumps({"error": err.message, "error_type": _tei_error_type(err.status)}) if tei else err.openai_body()
    return web.Response(body=body, status=err.status, content_type="application/json", headers=headers)


def _guard(handler: Handler, capability: Capability | None) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        if handler is handlers.health:
            return await handler(request)
        if not state.ready:
            raise StillLoading()
        if capability is not None and capability not in state.engine.capabilities:
            raise NotFound(f"this model ({state.served_name}) does not serve {request.path}")
        return await handler(request)

    return guarded


@web.middleware
async def _errors_and_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await _authorized(request, handler)
    except ModelportError as err:
        return _error_response(err, tei=request.path in TEI_PATHS)


async def _authorized(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    try:
        public = request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES)
        if state.secret is not None and not public:
            header = request.headers.get("Authorization", "")
            given = header[7:] if header[:7].lower() == "bearer " else ""
            if not hmac.compare_digest(given.encode(), state.secret.encode()):
                raise AuthenticationFailed("missing or invalid instance secret (Authorization: Bearer ...)")
        return await handler(request)
    except ModelportError:
        raise
    except ContextLengthExceeded as exc:  # OpenAI's shape, which clients act on (litellm, Codex)
        raise BadRequest(str(exc), param=exc.param or "messages", code="context_length_exceeded") from None
    except InvalidEngineInput as exc:
        raise BadRequest(str(exc), param=exc.param) from None
    except web.HTTPRequestEntityTooLarge:
        raise PayloadTooLarge(f"request body is larger than {state.max_body_bytes} bytes") from None
    except web.HTTPMethodNotAllowed as exc:
        not_allowed = NotFound(f"{request.method} is not allowed on {request.path}", code="method_not_allowed")
        not_allowed.status = exc.status
        raise not_allowed from None
    except web.HTTPNotFound:
        raise NotFound(f"no route {request.method} {request.path}") from None
    except Exception:  # never a traceback to the client; the log has it
        log.exception("unhandled error on %s %s", request.method, request.path)
        raise ModelportError("internal error in the engine worker; see the worker log") from None


def create_worker_app(state: WorkerState) -> web.Application:
    """The worker app for one (possibly still loading) engine."""
    app = web.Application(middlewares=[_errors_and_auth], client_max_size=state.max_body_bytes)
    app[STATE] = state
    app[DECODER] = Cl100kDecoder()
    for method, path, handler, capability in ROUTES:
        app.router.add_route(method, path, _guard(handler, capability))
    return app


def serve_worker(
    engine: str,
    model: str,
    *,
    host: str = "127.0.0.1",
    port: int,
    threads: int = 1,
    served_name: str | None = None,
    secret: str | None = None,
    max_queue: int | None = None,
    max_body_bytes: int = MAX_REQUEST_BYTES,
    engine_args: dict[str, str] | None = None,
) -> None:
    """Host one engine over HTTP until SIGTERM/SIGINT. `secret` defaults to $MODELPORT_INSTANCE_SECRET.

    `max_queue` (default: the engine arg `max_queue`, sized per engine) bounds the waiting line; the
    engine args, laid over the catalog entry's defaults when `model` is a catalog name, must be ones the
    engine takes (`engines.args`; BadRequest otherwise). Listens at once
    (so /health answers 503 while loading), loads the model, then serves. Exits with status 1 when the
    engine cannot load.
    """
    given = engine_args_of(model, engine_args or {})
    args = parse_engine_args(engine, given)
    queue = args["max_queue"] if max_queue is None else max_queue
    limits = BatchLimits.from_engine_args(args, queue)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ["OMP_NUM_THREADS"] = str(threads)
    secret = secret if secret is not None else (os.environ.get(SECRET_ENV) or None)
    if secret is None:
        log.warning("%s is not set: this worker accepts requests without a secret", SECRET_ENV)
    options = EngineOptions(model=model, threads=threads, extra=given)
    gate = InferenceGate(max_queue=queue)
    loaded = create_engine(engine, options)
    state = WorkerState(
        engine=loaded,
        gate=gate,
        batchers=EngineBatchers(loaded, gate, limits),
        served_name=served_name or model,
        secret=secret,
        max_body_bytes=max_body_bytes,
    )
    if asyncio.run(_serve(state, host, port)) != 0:
        raise SystemExit(1)


async def _serve(state: WorkerState, host: str, port: int) -> int:
    # Heads as large as the gateway's listener takes (64 KiB): what passes the gateway is never refused here.
    runner = web.AppRunner(create_worker_app(state), handler_cancellation=True, access_log=None,
                           max_line_size=HEAD_BYTES, max_field_size=HEAD_BYTES, max_headers=128)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    log.info("worker listening on http://%s:%s (loading %s)", host, bound, state.served_name)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await state.gate.call(state.engine.load)
    except (EngineUnavailable, FileNotFoundError, ValueError, RuntimeError) as exc:
        state.load_error = str(exc)
        log.error("cannot load %s: %s", state.served_name, exc)
        await runner.cleanup()
        return 1
    if isinstance(state.engine, ConcurrentEngine):
        state.gate.set_concurrency(state.engine.concurrency)
    freeze_long_lived_objects()
    state.ready = True
    caps = ", ".join(sorted(c.value for c in state.engine.capabilities))
    log.info("model %s loaded; serving: %s", state.served_name, caps)
    await stop.wait()
    log.info("shutting down")
    await runner.cleanup()
    state.gate.close()
    return 0
