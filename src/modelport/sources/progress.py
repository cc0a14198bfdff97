"""How far a model download has got, shared between the downloading thread and the instance reporting it:
`downloading 37% (412/1,100 MB, 24 MB/s, ETA 28 s)`."""

from __future__ import annotations

import threading
import time
from collections import deque

WINDOW_SECONDS = 5.0  # the speed is measured over the last few seconds


class Meter:
    """Bytes done out of a total, with a speed over a sliding window. Thread-safe."""

    def __init__(self, total: int = 0) -> None:
        self._lock = threading.Lock()
        self.total = total
        self._finished = 0  # bytes of files already complete (or found in the cache)
        self._current = 0  # bytes of the file under way
        self._samples: deque[tuple[float, int]] = deque()
        self.note = ""  # e.g. "waiting for another download of this model"

    def start(self, total: int) -> None:
        with self._lock:
            self.total = total

    def finish_file(self, size: int) -> None:
        """A file of `size` bytes is complete."""
        with self._lock:
            self._finished += size
            self._current = 0
            self._sample()

    def progress(self, current: int, note: str = "") -> None:
        """The file under way has `current` bytes (counting what an earlier run left)."""
        with self._lock:
            self._current = current
            self.note = note
            self._sample()

    @property
    def done(self) -> int:
        with self._lock:
            return self._finished + self._current

    def _sample(self) -> None:
        now = time.monotonic()
        self._samples.append((now, self._finished + self._current))
        while len(self._samples) > 2 and now - self._samples[0][0] > WINDOW_SECONDS:
            self._samples.popleft()

    def speed(self) -> float:
        """Bytes per second over the window (0 before two samples)."""
        with self._lock:
            if len(self._samples) < 2:
                return 0.0
            (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
            elapsed = max(time.monotonic(), t1) - t0
            return (b1 - b0) / elapsed if elapsed > 0 else 0.0

    def describe(self) -> str:
        """`downloading 37% (412/1,100 MB, 24 MB/s, ETA 28 s)`, plus the note when there is one."""
        done, total, speed = self.done, self.total, self.speed()
        percent = int(100 * done / total) if total else 0
        parts = [f"{done / 1e6:,.0f}/{total / 1e6:,.0f} MB"]
        if speed > 0:
            parts.append(f"{speed / 1e6:,.1f} MB/s" if speed < 10e6 else f"{speed / 1e6:,.0f} MB/s")
            parts.append(f"ETA {eta_text((total - done) / speed)}")
        text = f"downloading {percent}% ({', '.join(parts)})"
        return f"{text}; {self.note}" if self.note else text


def eta_text(seconds: float) -> str:
    """28 s, 4 min 10 s, 2 h 5 min."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"
