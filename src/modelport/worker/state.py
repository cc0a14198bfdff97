"""What every worker handler shares: the engine, the gate, the served name, the secret."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from aiohttp import web

from modelport.config import MAX_REQUEST_BYTES
from modelport.engines.base import Engine
from modelport.worker.batcher import EngineBatchers
from modelport.worker.gate import InferenceGate
from modelport.worker.image_store import ImageStore


@dataclass
class WorkerState:
    """The one engine this worker hosts and how it is exposed."""

    engine: Engine
    gate: InferenceGate
    batchers: EngineBatchers  # embeddings and rerank, batched across concurrent requests
    served_name: str
    secret: str | None
    max_body_bytes: int = MAX_REQUEST_BYTES
    ready: bool = False
    load_error: str | None = None
    images: ImageStore = field(default_factory=ImageStore)  # `response_format: url` images, for a while


STATE = web.AppKey("modelport_worker_state", WorkerState)


def json_response(obj: object, status: int = 200) -> web.Response:
    """A JSON response encoded with orjson (numpy arrays included)."""
    return web.Response(
        body=orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY),
        status=status,
        content_type="application/json",
    )
