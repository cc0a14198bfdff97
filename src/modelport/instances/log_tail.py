"""The end of an instance's log, wherever it is kept (the gateway's data dir, or a Ray node)."""

from __future__ import annotations

from pathlib import Path

MAX_TAIL_BYTES = 4 << 20  # read at most this much of a log's end


def tail(path: Path, lines: int) -> str:
    """The last `lines` lines of the text file `path` (FileNotFoundError when there is none)."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - MAX_TAIL_BYTES))
        data = handle.read()
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:]) + "\n"
