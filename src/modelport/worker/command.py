"""The `worker` click command. Lives here (not in modelport.cli) so `python -m modelport.worker` starts
without importing the gateway's CLI group and its dependencies; `modelport.cli.worker` re-exports it."""

from __future__ import annotations

import logging

import click

from modelport.config import MAX_REQUEST_BYTES
from modelport.engines import ENGINE_NAMES


def _engine_args(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--engine-arg")
        out[key] = value
    return out


@click.command("worker")
@click.option("--engine", required=True, type=click.Choice(ENGINE_NAMES), help="Built-in engine to host.")
@click.option(
    "--model",
    required=True,
    help="Catalog name (see `modelport models`) or a path to weights (diffusers: a pipeline folder).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free).")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 256), help="CPU threads for inference.")
@click.option("--served-name", default=None, help="The `model` name in responses (default: --model).")
@click.option(
    "--max-queue",
    default=None,
    type=click.IntRange(0, 100000),
    help="Requests that may wait; more get 503 + Retry-After [default: the engine arg max_queue: 512 for"
    " embeddings and rerank, 32 for llama.cpp, piper and whisper, 8 for diffusers].",
)
@click.option(
    "--max-upload-mb",
    default=MAX_REQUEST_BYTES // (1024 * 1024),
    show_default=True,
    type=click.IntRange(1, 1024 * 1024),
    help="Largest request body (the gateway passes its own --max-upload-mb).",
)
@click.option(
    "--engine-arg",
    "engine_args",
    multiple=True,
    metavar="KEY=VALUE",
    help="Engine option, e.g. n_ctx=4096, embedding=true, pooling=rank (llama.cpp); beam_size=5,"
    " compute_type=int8 (faster-whisper); steps=25, size=512x512, strength=0.75 (diffusers);"
    " max_batch_tokens=16384, batch_wait_ms=2 (embeddings, rerank). `modelport models -v` lists them all.",
)
@click.option(
    "--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"])
)
def worker(
    engine: str,
    model: str,
    host: str,
    port: int,
    threads: int,
    served_name: str | None,
    max_queue: int | None,
    max_upload_mb: int,
    engine_args: tuple[str, ...],
    log_level: str,
) -> None:
    """Host one model with a built-in engine over HTTP (OpenAI / Jina / TEI wire formats).

    The instance secret is read from $MODELPORT_INSTANCE_SECRET (never a command-line argument: `ps`
    shows those). Every route except GET /health then needs `Authorization: Bearer <secret>`.
    """
    from modelport.engines.args import validate_engine_args
    from modelport.errors import BadRequest
    from modelport.worker.app import serve_worker

    args = _engine_args(engine_args)
    try:
        validate_engine_args(engine, args)
    except BadRequest as exc:
        raise click.BadParameter(exc.message, param_hint="--engine-arg") from None
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve_worker(
        engine,
        model,
        host=host,
        port=port,
        threads=threads,
        served_name=served_name,
        max_queue=max_queue,
        max_body_bytes=max_upload_mb * 1024 * 1024,
        engine_args=args,
    )
