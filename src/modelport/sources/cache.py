"""The model cache shared by every instance and gateway on the machine.

    ROOT/blobs/<algo>/<hex>      verified files, named by their checksum (one copy per content)
    ROOT/partial/<algo>-<hex>    downloads under way, resumed from where they stopped
    ROOT/locks/<algo>-<hex>      one lock per blob: concurrent deploys of one model download it once
    ROOT/<source>/.../<files>    a model's files as its engine loads them: hard links to blobs
    ROOT/records/<id>.json       what each fetched reference resolved to (for --cached, --prune, offline)

ROOT is `$MODELPORT_MODEL_CACHE`, else `<cache_dir()>/models` (~/.cache/modelport/models).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

from modelport.engines.catalog import cache_dir

LOCK_POLL_SECONDS = 0.2


class Checksum(msgspec.Struct, frozen=True):
    """A file's expected digest: `sha256` (LFS files, Ollama blobs) or `git-sha1` (a git blob id)."""

    algorithm: str
    hex: str

    def hasher(self, size: int) -> hashlib._Hash:
        """A fresh hasher; a git blob id hashes a `blob <size>\\0` header before the content."""
        if self.algorithm == "sha256":
            return hashlib.sha256()
        if self.algorithm == "git-sha1":
            digest = hashlib.sha1(usedforsecurity=False)
            digest.update(b"blob %d\x00" % size)
            return digest
        raise ValueError(f"unknown checksum algorithm {self.algorithm!r}")

    @property
    def key(self) -> str:
        return f"{self.algorithm}-{self.hex}"


class CachedFile(msgspec.Struct, frozen=True):
    """One file of a fetched model: its path in the model's folder, size and checksum."""

    name: str
    size: int
    checksum: Checksum


class Record(msgspec.Struct, frozen=True):
    """What a reference resolved to when it was fetched: the folder and the file the engine loads."""

    reference: str
    folder: str  # relative to the cache root
    entry: str  # relative to `folder`; "" when the engine loads the folder
    files: tuple[CachedFile, ...]
    license: str = ""
    fetched_at: float = 0.0

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


class Cancelled(Exception):
    """The instance stopped while its model was being fetched."""


class ModelCache:
    """Paths, locks and records of the model cache under `root`."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else default_root()

    def blob(self, checksum: Checksum) -> Path:
        return self.root / "blobs" / checksum.algorithm / checksum.hex

    def partial(self, checksum: Checksum) -> Path:
        return self.root / "partial" / checksum.key

    def folder(self, record: Record) -> Path:
        return self.root / record.folder

    def entry_path(self, record: Record) -> Path:
        folder = self.folder(record)
        return folder / record.entry if record.entry else folder

    @contextlib.contextmanager
    def lock(self, checksum: Checksum, cancel: threading.Event, waiting: Callable[[], None]) -> Iterator[None]:
        """Hold the blob's lock (an flock, so other processes and threads wait too); `waiting` is called
        while another holder downloads it, `cancel` ends the wait with `Cancelled`."""
        path = self.root / "locks" / checksum.key
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+b") as handle:
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if cancel.wait(LOCK_POLL_SECONDS):
                        raise Cancelled() from None
                    waiting()
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def link(self, record: Record) -> Path:
        """Lay the record's files out in its folder as hard links to their blobs; its entry path."""
        folder = self.folder(record)
        for item in record.files:
            target = folder / item.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists() and target.stat().st_ino == self.blob(item.checksum).stat().st_ino:
                continue
            staged = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.link")
            os.link(self.blob(item.checksum), staged)
            os.replace(staged, target)
        return self.entry_path(record)

    def complete(self, record: Record) -> bool:
        """Whether every file of the record is in place (a blob of the right size)."""
        return all(self.blob(f.checksum).is_file() and self.blob(f.checksum).stat().st_size == f.size
                   for f in record.files)

    # -- records
    def record_path(self, reference: str) -> Path:
        digest = hashlib.sha256(reference.encode()).hexdigest()[:32]
        return self.root / "records" / f"{digest}.json"

    def save_record(self, record: Record) -> None:
        path = self.record_path(record.reference)
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        staged.write_bytes(msgspec.json.encode(record))
        os.replace(staged, path)

    def load_record(self, reference: str) -> Record | None:
        try:
            return msgspec.json.decode(self.record_path(reference).read_bytes(), type=Record)
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            return None

    def records(self) -> list[Record]:
        """Every fetched reference, unreadable records skipped."""
        found = []
        for path in sorted((self.root / "records").glob("*.json")):
            with contextlib.suppress(OSError, msgspec.DecodeError, msgspec.ValidationError):
                found.append(msgspec.json.decode(path.read_bytes(), type=Record))
        return found

    def remove(self, record: Record, keep: set[str]) -> int:
        """Forget `record` and delete its folder, and each blob no folder of the records in `keep` still
        links (hard-link count 1); the bytes freed."""
        self.record_path(record.reference).unlink(missing_ok=True)
        folder = self.folder(record)
        if record.folder not in keep and folder.is_dir():
            shutil.rmtree(folder)
            for parent in folder.parents:  # the repo's folder, once its last revision is gone
                if parent == self.root or not parent.is_relative_to(self.root) or any(parent.iterdir()):
                    break
                parent.rmdir()
        freed = 0
        for item in record.files:
            blob = self.blob(item.checksum)
            with contextlib.suppress(FileNotFoundError):
                if blob.stat().st_nlink == 1:
                    freed += blob.stat().st_size
                    blob.unlink()
        return freed


    def remove_partials(self) -> int:
        """Delete the partial downloads no one is continuing (their lock is free); the bytes freed."""
        freed = 0
        for partial in sorted((self.root / "partial").glob("*")):
            lock = self.root / "locks" / partial.name
            lock.parent.mkdir(parents=True, exist_ok=True)
            with open(lock, "a+b") as handle:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a download under way
                freed += partial.stat().st_size
                partial.unlink()
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return freed


def default_root() -> Path:
    """`$MODELPORT_MODEL_CACHE`, else the `models` folder of modelport's cache dir."""
    explicit = os.environ.get("MODELPORT_MODEL_CACHE")
    return Path(explicit).expanduser() if explicit else cache_dir() / "models"


def check_space(root: Path, needed: int) -> None:
    """Raise OSError naming what is needed when the cache's filesystem has less free than `needed` bytes
    plus `$MODELPORT_CACHE_MIN_FREE_MB` (a margin left for everything else; default 0)."""
    root.mkdir(parents=True, exist_ok=True)
    margin = int(float(os.environ.get("MODELPORT_CACHE_MIN_FREE_MB", "0")) * 1_000_000)
    usable = max(0, shutil.disk_usage(root).free - margin)
    if needed > usable:
        kept = f" (keeping {margin_text(margin)} free, MODELPORT_CACHE_MIN_FREE_MB)" if margin else ""
        raise InsufficientSpace(
            f"not enough disk space in {root}: the download needs {margin_text(needed)}, "
            f"{margin_text(usable)} is free{kept}"
        )


def margin_text(size: int) -> str:
    """Bytes as MB (or GB from 10 GB), with thousands separators."""
    if size >= 10_000_000_000:
        return f"{size / 1e9:,.1f} GB"
    return f"{size / 1e6:,.1f} MB"


class InsufficientSpace(OSError):
    """The cache's filesystem has too little free space for a download."""


def now() -> float:
    return time.time()
