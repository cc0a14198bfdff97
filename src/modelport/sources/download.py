"""Fetch one file into the cache: resumable (a Range request from what an earlier run left), checked
against its checksum before it becomes a blob, bounded to its declared size, one download per blob."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from modelport.sources.cache import Cancelled, Checksum, ModelCache
from modelport.sources.progress import Meter

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
ATTEMPTS = 3  # a dropped connection is resumed this many times before the download fails
TIMEOUT = httpx.Timeout(connect=15.0, read=60.0, write=30.0, pool=30.0)


class FetchFailed(Exception):
    """A model could not be fetched; the message is the reason an instance shows."""


class Unreachable(FetchFailed):
    """The source did not answer (network, DNS, timeout): a complete cached copy may stand in."""


class ChecksumMismatch(FetchFailed):
    """The bytes received do not have the digest the source declared (the partial file is removed)."""


@dataclass(frozen=True)
class RemoteFile:
    """A file to fetch: its name in the model's folder, URL, declared size and checksum, and the headers
    to send (credentials only for the source's own origin)."""

    name: str
    url: str
    size: int
    checksum: Checksum
    headers: dict[str, str] = field(default_factory=dict)


def fetch_file(file: RemoteFile, cache: ModelCache, client: httpx.Client, meter: Meter,
               cancel: threading.Event) -> Path:
    """The blob of `file`, downloaded unless it is already in the cache (another deploy may be fetching it
    right now: then this waits for it and shows its progress)."""
    blob = cache.blob(file.checksum)
    partial = cache.partial(file.checksum)

    def waiting() -> None:
        meter.progress(_size(partial), "another deploy is fetching this file")

    with cache.lock(file.checksum, cancel, waiting):
        if not blob.is_file():
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    _transfer(file, partial, client, meter, cancel)
                    break
                except (httpx.TransportError, _Short) as exc:
                    if attempt == ATTEMPTS:
                        raise FetchFailed(f"download of {file.name} failed: {exc}") from exc
                    log.warning("download of %s interrupted (%s); resuming", file.name, exc)
            blob.parent.mkdir(parents=True, exist_ok=True)
            os.replace(partial, blob)
    meter.finish_file(file.size)
    return blob


class _Short(Exception):
    """The connection ended before the declared size."""


def _transfer(file: RemoteFile, partial: Path, client: httpx.Client, meter: Meter, cancel: threading.Event) -> None:
    partial.parent.mkdir(parents=True, exist_ok=True)
    offset = _size(partial)
    if offset > file.size:
        partial.unlink()
        offset = 0
    headers = dict(file.headers)
    if offset:
        headers["Range"] = f"bytes={offset}-"
    headers["Accept-Encoding"] = "identity"
    with client.stream("GET", file.url, headers=headers) as response:
        if response.status_code == 200:
            offset = 0
        elif response.status_code == 206:
            if _range_start(response) != offset:
                raise FetchFailed(f"{file.name}: the server resumed at the wrong offset")
        elif response.status_code == 416 and offset == file.size:
            pass  # complete already: only the checksum is left to check
        else:
            raise FetchFailed(f"{file.name}: {describe_status(response)}")
        with open(partial, "r+b" if offset else "wb") as out:
            out.truncate(offset)
            out.seek(offset)
            written = offset
            meter.progress(written)
            if response.status_code != 416:
                for chunk in response.iter_bytes(CHUNK):
                    if cancel.is_set():
                        raise Cancelled()
                    written += len(chunk)
                    if written > file.size:
                        raise FetchFailed(f"{file.name}: the server sent more than the {file.size:,} bytes declared")
                    out.write(chunk)
                    meter.progress(written)
            out.flush()
            os.fsync(out.fileno())
    if written < file.size:
        raise _Short(f"the connection ended at {written:,} of {file.size:,} bytes")
    _verify(file, partial)


def _verify(file: RemoteFile, partial: Path) -> None:
    digest = file.checksum.hasher(file.size)
    with open(partial, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != file.checksum.hex:
        partial.unlink(missing_ok=True)
        raise ChecksumMismatch(
            f"checksum mismatch for {file.name}: expected {file.checksum.algorithm} {file.checksum.hex[:12]}…, "
            f"got {digest.hexdigest()[:12]}… (the file was removed; deploy again to retry)"
        )


def _range_start(response: httpx.Response) -> int | None:
    value = response.headers.get("content-range", "")  # bytes START-END/TOTAL
    unit, _, rest = value.partition(" ")
    start = rest.partition("-")[0]
    return int(start) if unit == "bytes" and start.isdigit() else None


def describe_status(response: httpx.Response) -> str:
    """A short reason for a refused download, from its status (and the Hub's error header)."""
    code = response.headers.get("x-error-code", "")
    if code == "GatedRepo" or (response.status_code in (401, 403) and "gated" in response.headers.get(
            "x-error-message", "").lower()):
        return f"HTTP {response.status_code}: gated repository; set HF_TOKEN to a token that was granted access"
    if response.status_code in (401, 403):
        return f"HTTP {response.status_code}: not authorised (a private repository, or a missing or wrong token)"
    if response.status_code == 404:
        return "HTTP 404: not found"
    return f"HTTP {response.status_code}"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
