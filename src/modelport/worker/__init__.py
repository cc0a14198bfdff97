"""The HTTP app that hosts one built-in engine as an instance (`modelport worker`).

Public API: `serve_worker(engine, model, *, host, port, threads, served_name, secret, max_queue)` and
`create_worker_app(state)` for embedding the app in tests or other servers.
"""

from __future__ import annotations

from modelport.worker.app import ROUTES, SECRET_ENV, create_worker_app, serve_worker

__all__ = ["ROUTES", "SECRET_ENV", "create_worker_app", "serve_worker"]
