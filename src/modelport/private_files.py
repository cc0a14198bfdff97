"""Folders and files only their owner may read: the data dir (0700), the SQLite store and its -wal/-shm
(0600: it holds upstream keys in plain text), instance logs (0700 folder, 0600 files). What an older
version left looser is tightened, and the log says so."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)


def private_dir(path: Path) -> None:
    """Create `path` (and its parents) as 0700, or tighten it to 0700 if it exists looser."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    _tighten(path, 0o700)


def private_file(path: Path) -> None:
    """Create `path` empty as 0600 if it is missing, or tighten it to 0600 if it exists looser."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    _tighten(path, 0o600)


def open_private_append(path: Path) -> BinaryIO:
    """`path` opened for appending bytes, created as 0600 or tightened to 0600."""
    handle = open(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")
    _tighten(path, 0o600)
    return handle


def tighten_if_present(path: Path) -> None:
    """Tighten an existing file to 0600; nothing if it does not exist."""
    if path.exists():
        _tighten(path, 0o600)


def _tighten(path: Path, mode: int) -> None:
    try:
        current = stat.S_IMODE(path.stat().st_mode)
        if current & ~mode:
            path.chmod(mode)
            log.warning("%s was mode %04o, readable beyond its owner; it is now %04o", path, current, mode)
    except OSError as exc:  # not ours, or gone meanwhile: say so, serve anyway
        log.warning("could not make %s private (mode %04o): %s", path, mode, exc)
