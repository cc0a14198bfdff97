"""The phase before a managed instance's engine starts: fetch the model its `--model` names (a Hub repo,
an Ollama model) into the shared cache, reporting `downloading 37% (...)` as the instance's state."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from modelport.instances.launch import BUILT_IN_ENGINES, PREDOWNLOAD_ARG, PRESETS
from modelport.records import DeploymentSpec, InstanceState
from modelport.sources.cache import Cancelled, ModelCache
from modelport.sources.download import FetchFailed
from modelport.sources.fetch import fetch
from modelport.sources.progress import Meter
from modelport.sources.reference import is_source_reference

log = logging.getLogger(__name__)

REPORT_SECONDS = 1.0
Reporter = Callable[[InstanceState, str], Awaitable[None]]  # records the instance's state and reason


def needs_fetch(spec: DeploymentSpec) -> bool:
    """Whether the instance's model must be fetched first: a built-in engine given a source reference;
    external engines such as vLLM get the repo id and download it themselves, unless `predownload=true`."""
    if spec.command or not is_source_reference(spec.model):
        return False
    asked = spec.engine_args.get(PREDOWNLOAD_ARG, "").lower() in ("1", "true", "yes")
    return spec.engine in BUILT_IN_ENGINES or (spec.engine in PRESETS and asked)


async def fetch_model(spec: DeploymentSpec, report: Reporter) -> DeploymentSpec | None:
    """`spec` with its model replaced by the local path once fetched; None when the fetch failed (reported
    as `failed` with the reason). Cancelling stops the download where it is, to be resumed later."""
    assert spec.model is not None
    meter, cancel = Meter(), threading.Event()
    await report(InstanceState.DOWNLOADING, f"resolving {spec.model}")
    task = asyncio.ensure_future(asyncio.to_thread(fetch, spec.model, ModelCache(), meter, cancel))
    task.add_done_callback(_retrieve)  # a fetch stopped by cancellation ends with an error nobody awaits
    shown = ""
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=REPORT_SECONDS)
            text = meter.describe()
            if not task.done() and meter.total and text != shown:
                shown = text
                await report(InstanceState.DOWNLOADING, text)
        path = task.result()
    except (FetchFailed, OSError, Cancelled) as exc:
        await report(InstanceState.FAILED, f"fetching {spec.model} failed: {exc}")
        return None
    finally:
        cancel.set()
    log.info("%s: %s is at %s", spec.name, spec.model, path)
    return replace(spec, model=str(path))




def _retrieve(task: asyncio.Future[Path]) -> None:
    if not task.cancelled():
        task.exception()
