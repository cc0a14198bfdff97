"""Fetch what a source reference names into the cache, and say where the engine finds it."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import httpx

from modelport.sources.cache import ModelCache, Record, check_space
from modelport.sources.download import TIMEOUT, FetchFailed, RemoteFile, Unreachable, fetch_file
from modelport.sources.hf import plan_hub
from modelport.sources.ollama import plan_ollama
from modelport.sources.progress import Meter
from modelport.sources.reference import BadReference, HubRef, SourceRef, parse_reference

log = logging.getLogger(__name__)
MAX_REDIRECTS = 5


def fetch(model: str, cache: ModelCache, meter: Meter, cancel: threading.Event) -> Path:
    """The local path of `model`: downloaded (or found complete in the cache) when it is a source
    reference, `model` itself otherwise. Raises FetchFailed (or OSError for disk trouble) with the reason."""
    try:
        ref = parse_reference(model)
    except BadReference as exc:
        raise FetchFailed(str(exc)) from None
    if ref is None:
        return Path(model).expanduser()
    with httpx.Client(timeout=TIMEOUT, follow_redirects=True, max_redirects=MAX_REDIRECTS) as client:
        try:
            record, files = _plan(ref, client)
        except Unreachable:
            cached = cache.load_record(str(ref))
            if cached is None or not cache.complete(cached):
                raise
            log.warning("%s: the source is unreachable; using the copy fetched before", ref)
            return cache.link(cached)
        _download(record, files, cache, client, meter, cancel)
    path = cache.link(record)
    cache.save_record(record)
    return path


def _plan(ref: SourceRef, client: httpx.Client) -> tuple[Record, list[RemoteFile]]:
    if isinstance(ref, HubRef):
        return plan_hub(ref)
    return plan_ollama(ref, client)


def _download(record: Record, files: list[RemoteFile], cache: ModelCache, client: httpx.Client, meter: Meter,
              cancel: threading.Event) -> None:
    meter.start(record.size)
    missing = [f for f in files if not cache.blob(f.checksum).is_file()]
    meter.finish_file(record.size - sum(f.size for f in missing))
    needed = sum(max(0, f.size - _size(cache.partial(f.checksum))) for f in missing)
    check_space(cache.root, needed)
    for file in missing:
        fetch_file(file, cache, client, meter, cancel)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


__all__ = ["FetchFailed", "fetch"]
