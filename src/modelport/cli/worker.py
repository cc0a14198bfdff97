"""`modelport worker`: host one model with a built-in engine (defined in modelport.worker.command, so that
`python -m modelport.worker` starts without the rest of the CLI)."""

from __future__ import annotations

from modelport.worker.command import worker

__all__ = ["worker"]
