"""Running the gateway: one process, or `--workers N` processes sharing one listening socket.

With several workers, this (primary) process owns the socket and the supervisor of managed instances,
and starts N route-only gateway processes that accept on the inherited socket. SIGTERM drains them all,
then stops the instances. A worker whose primary disappears shuts itself down.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import resource
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import uvicorn

from modelport.app import GatewayApp, create_app
from modelport.config import Settings
from modelport.gateway import local_supervisor
from modelport.instances.leader import Leadership, instance_secrets
from modelport.listener import guarded_protocol
from modelport.relay.upstream import create_session
from modelport.routing.router import Router
from modelport.store import Store

log = logging.getLogger(__name__)
_SETTINGS_ENV = "MODELPORT_WORKER_SETTINGS"


class DrainingServer(uvicorn.Server):
    """On SIGTERM/SIGINT: /readyz turns 503, the listener closes, in-flight requests (streams included)
    get `drain_seconds` to finish."""

    def __init__(self, config: uvicorn.Config, app: GatewayApp) -> None:
        super().__init__(config)
        self._app = app

    def handle_exit(self, sig: int, frame: Any) -> None:
        gateway = self._app.gateway
        if gateway is not None and gateway.loop is not None:
            gateway.draining = True
            gateway.loop.call_soon_threadsafe(gateway.begin_drain)  # a signal handler: not on the loop's turn
        super().handle_exit(sig, frame)


def run_gateway(settings: Settings, fd: int | None = None) -> None:
    """Serve HTTP in this process (on the inherited listening socket `fd` when given, else on host:port)."""
    app = create_app(settings)
    raise_open_file_limit(settings.listener.max_connections)
    # ws="none": the gateway speaks no WebSocket, so an upgrade request is an ordinary HTTP request (401, 404...)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, lifespan="on", loop="uvloop",
        http=guarded_protocol(settings.listener), ws="none",
        access_log=False, server_header=False, proxy_headers=False,
        timeout_graceful_shutdown=int(settings.drain_seconds), log_level=settings.log_level,
    )
    # uvicorn's own `fd=` takes the socket for a UNIX one, and a TCP socket then goes without TCP_NODELAY
    # (a 40 ms delayed-ACK stall per response): hand it the socket object, whose family is read from the fd.
    sockets = [socket.socket(fileno=fd)] if fd is not None else None
    DrainingServer(config, app).run(sockets=sockets)


def raise_open_file_limit(max_connections: int) -> None:
    """Lift this process's soft limit on open files towards its hard limit: each client connection and
    each upstream connection holds a descriptor, and the usual soft limit (1,024) is below the cap."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * max_connections + 256  # a client and an upstream connection each, plus the store, logs...
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < wanted:
            log.warning("open files are limited to %d; --max-connections %d may exhaust them", target,
                        max_connections)


def run_workers(settings: Settings) -> None:
    """The primary of `--workers N`: bind, start the workers, supervise instances until told to stop."""
    listener = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((settings.host, settings.port))
    listener.listen(2048)
    listener.set_inheritable(True)
    worker_settings = dataclasses.replace(settings, supervise=False, parent_pid=os.getpid())
    data = {**dataclasses.asdict(worker_settings), "data_dir": str(worker_settings.data_dir)}
    env = {**os.environ, _SETTINGS_ENV: json.dumps(data)}
    argv = [sys.executable, "-m", "modelport.serving", str(listener.fileno())]

    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, env=env, pass_fds=(listener.fileno(),))

    asyncio.run(_primary(settings, spawn))
    listener.close()


async def _primary(settings: Settings, spawn: Any) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    store = await asyncio.to_thread(Store.open, settings.store_url)
    session = create_session()
    supervisor = local_supervisor(settings, store, Router(store), session,
                                  instance_secrets(store, settings.instance_key_file))
    leadership = Leadership(store, supervisor) if store.shared else None  # one supervisor among gateways
    supervising = asyncio.create_task((leadership or supervisor).run(settings.reload_seconds))
    workers = [spawn() for _ in range(settings.workers)]
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
            for index, worker in enumerate(workers):
                if worker.poll() is not None and not stop.is_set():
                    log.warning("gateway worker %d exited with %s; starting another", worker.pid, worker.returncode)
                    workers[index] = spawn()
    finally:
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                worker.send_signal(signal.SIGTERM)
        await asyncio.to_thread(_wait_all, workers, settings.drain_seconds + 5)
        supervising.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await supervising
        await (leadership.hand_over() if leadership is not None else supervisor.stop())
        await session.close()
        await asyncio.to_thread(store.close)


def _wait_all(workers: list[subprocess.Popen[bytes]], timeout: float) -> None:
    for worker in workers:
        try:
            worker.wait(timeout)
        except subprocess.TimeoutExpired:
            worker.kill()


def _worker_main(fd: int) -> None:
    data = json.loads(os.environ.pop(_SETTINGS_ENV))
    data["data_dir"] = Path(data["data_dir"])
    settings = msgspec.convert(data, Settings, strict=False)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_gateway(settings, fd=fd)


if __name__ == "__main__":
    _worker_main(int(sys.argv[1]))
