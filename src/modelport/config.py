"""Settings for one gateway process. Built once by the CLI and passed down; nothing reads globals."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: The largest request body the gateway accepts by default; workers accept the same, so what passes the
#: gateway is never refused behind it.
MAX_REQUEST_BYTES = 100 * 1024 * 1024


def default_data_dir() -> Path:
    """`$MODELPORT_DATA_DIR`, else `~/.modelport`."""
    return Path(os.environ.get("MODELPORT_DATA_DIR") or Path.home() / ".modelport")


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir.resolve() / 'modelport.db'}"


@dataclass(frozen=True)
class ListenerLimits:
    """What one client connection may hold of the gateway (`modelport.listener`). Bytes and seconds."""

    max_head_bytes: int = 64 * 1024  # request line and headers together: 431 past it
    max_headers: int = 128
    head_seconds: float = 10.0  # to send a whole request head: 408 past it
    body_seconds: float = 60.0  # of silence while the gateway waits for request body bytes: 408
    write_seconds: float = 120.0  # the client not reading an answer for this long: dropped
    max_connections: int = 4096  # open client connections: 503 past it


@dataclass(frozen=True)
class Settings:
    """Everything `modelport serve` can be told. Defaults are what a single-machine user wants."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = None  # None: SQLite in data_dir
    install_defaults: bool = True
    max_request_bytes: int = MAX_REQUEST_BYTES  # uploads (audio, images) and JSON bodies alike
    spool_memory_bytes: int = 1024 * 1024  # multipart uploads beyond this go to a temp file, not memory
    drain_seconds: float = 30.0  # SIGTERM: how long in-flight requests (streams too) may take to finish
    key_cache_seconds: float = 1.0  # revocation and expiry take effect within this long
    reload_seconds: float = 0.5  # how often the routing revision is polled (CLI changes, other gateways)
    probe_seconds: float = 5.0  # health probes of instances
    retry_after_seconds: int = 2  # sent with 503s when no instance is ready
    image_url_seconds: float = 3600.0  # how long images answered as `url` stay downloadable
    ping_seconds: float = 10.0  # Anthropic streams: a `ping` event after this long without upstream data
    responses_ttl_seconds: float = 30 * 86400.0  # /v1/responses kept (store: true) this long, then purged
    max_rerank_documents: int = 1000  # /v1/rerank and /v2/rerank: more documents than this is a 400
    log_level: str = "info"
    workers: int = 1  # gateway processes sharing the port
    supervise: bool = True  # this process runs the supervisor of managed instances
    parent_pid: int | None = None  # a `--workers` child: shut down when this process is gone
    listener: ListenerLimits = field(default_factory=ListenerLimits)
    cors_origins: tuple[str, ...] = ()  # browser origins allowed to call the API ("*": any); none: CORS off
    allowed_hosts: tuple[str, ...] = ()  # Host header values accepted; none: any
    trusted_proxies: tuple[str, ...] = ()  # peers believed about X-Forwarded-For/-Proto (the web UI's sign-in)
    access_log: str = "text"  # one line per request: "json", "text" or "off"
    metrics_token: str | None = None  # a bearer token for /metrics besides admin keys
    metrics_public: bool = False  # /metrics needs no token from loopback and private addresses
    usage_flush_seconds: float = 2.0  # usage records are written to the store this often
    usage_buffer_records: int = 100_000  # records held while the store is slow or down; more are dropped
    usage_retention_days: float = 90.0  # raw usage rows are kept this long (daily sums for good)
    placement: str = "local"  # where managed instances run: "local" (this machine) or "ray" (a Ray cluster)
    ray_address: str | None = None  # --placement ray: the cluster (None: RAY_ADDRESS, or a local one)

    @property
    def store_url(self) -> str:
        return self.database_url or sqlite_url(self.data_dir)

    @property
    def admin_key_file(self) -> Path:
        return self.data_dir / "admin-key"

    @property
    def instance_key_file(self) -> Path:
        return self.data_dir / "instance-key"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"
