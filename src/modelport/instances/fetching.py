"""The phase before a managed instance's engine starts: fetch the model its `--model` names (a Hub repo,
an Ollama model) into the cache of the machine that runs it, reporting `downloading 37% (...)` as the
instance's state. Both placements share it: local placement fetches in the gateway's process, Ray placement
in the instance's actor on its node (`Fetching` there, `follow_fetch` polling it from the gateway)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from modelport.instances.launch import BUILT_IN_ENGINES, PREDOWNLOAD_ARG, PRESETS
from modelport.records import DeploymentSpec, InstanceState
from modelport.sources.cache import Cancelled, ModelCache
from modelport.sources.download import FetchFailed
from modelport.sources.fetch import fetch
from modelport.sources.progress import Meter
from modelport.sources.reference import is_source_reference

log = logging.getLogger(__name__)

REPORT_SECONDS = 1.0  # the most often the progress is recorded as the instance's state
POLL_SECONDS = 0.25
Reporter = Callable[[InstanceState, str], Awaitable[None]]  # records the instance's state and reason


def needs_fetch(spec: DeploymentSpec) -> bool:
    """Whether the instance's model must be fetched first: a built-in engine given a source reference;
    external engines such as vLLM get the repo id and download it themselves, unless `predownload=true`."""
    if spec.command or not is_source_reference(spec.model):
        return False
    asked = spec.engine_args.get(PREDOWNLOAD_ARG, "").lower() in ("1", "true", "yes")
    return spec.engine in BUILT_IN_ENGINES or (spec.engine in PRESETS and asked)


@dataclass(frozen=True)
class FetchStatus:
    """How a fetch stands: under way (`progress` is the meter's text once the size is known), or done with
    the model's local path or why it failed."""

    done: bool
    progress: str = ""
    path: str | None = None
    error: str | None = None


class Fetching:
    """One model being fetched into this machine's cache by a thread of its own; `status()` says how far it
    got, `cancel()` stops it where it is (the cache resumes it next time)."""

    def __init__(self, model: str) -> None:
        self._meter, self._cancel, self._finished = Meter(), threading.Event(), threading.Event()
        self._path: Path | None = None
        self._error: str | None = None
        self._thread = threading.Thread(target=self._run, args=(model,), name=f"fetch {model}", daemon=True)
        self._thread.start()

    def _run(self, model: str) -> None:
        try:
            self._path = fetch(model, ModelCache(), self._meter, self._cancel)
        except (FetchFailed, OSError, Cancelled) as exc:
            self._error = str(exc)
        except Exception as exc:  # a bug: end the fetch all the same, or its instance would wait forever
            log.exception("fetching %s", model)
            self._error = f"{type(exc).__name__}: {exc}"
        finally:
            self._finished.set()

    def status(self) -> FetchStatus:
        if not self._finished.is_set():
            return FetchStatus(False, self._meter.describe() if self._meter.total else "")
        return FetchStatus(True, path=None if self._path is None else str(self._path), error=self._error)

    def cancel(self, wait_seconds: float = 0.0) -> None:
        """Stop the download, waiting up to `wait_seconds` for its thread to end."""
        self._cancel.set()
        self._thread.join(wait_seconds)


async def follow_fetch(model: str, poll: Callable[[], Awaitable[FetchStatus]], report: Reporter) -> str | None:
    """The path `poll` says the fetch of `model` ended with, reporting its progress as the instance's
    state meanwhile; None when it failed (reported as `failed` with the reason)."""
    await report(InstanceState.DOWNLOADING, f"resolving {model}")
    shown, reported_at = "", 0.0
    while not (status := await poll()).done:
        if status.progress and status.progress != shown and time.monotonic() - reported_at >= REPORT_SECONDS:
            shown, reported_at = status.progress, time.monotonic()
            await report(InstanceState.DOWNLOADING, status.progress)
        await asyncio.sleep(POLL_SECONDS)
    if status.path is None:
        await report(InstanceState.FAILED, f"fetching {model} failed: {status.error}")
    return status.path


async def fetch_model(spec: DeploymentSpec, report: Reporter) -> DeploymentSpec | None:
    """`spec` with its model replaced by the local path once fetched into this machine's cache; None when
    the fetch failed (reported as `failed` with the reason). Cancelling stops the download where it is."""
    assert spec.model is not None
    fetching = Fetching(spec.model)

    async def poll() -> FetchStatus:
        return fetching.status()

    try:
        path = await follow_fetch(spec.model, poll, report)
    finally:
        fetching.cancel()
    if path is None:
        return None
    log.info("%s: %s is at %s", spec.name, spec.model, path)
    return replace(spec, model=path)
