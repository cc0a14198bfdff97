"""The systems under test, each started on 127.0.0.1 in front of the same mock upstream.

- direct: no gateway; the load goes to the mock itself (its CPU is reported as the SUT's).
- modelport: `modelport serve --no-defaults` with the mock deployed as a remote URL.
- litellm: LiteLLM's proxy from its own venv (bench/.venvs/litellm), the mock as an `openai/` model with
  `api_base`, a master key but no database, logging and telemetry off: its best case.
- nginx: `proxy_pass` to a keep-alive upstream block, buffering off: the floor for a relay.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.procs import ProcessGroup, Started, free_port, wait_http

REPO = Path(__file__).resolve().parent.parent
LITELLM_VENV = REPO / "bench" / ".venvs" / "litellm"
MODEL = "fake-model"
CLIENT_KEY = "sk-bench-client"


@dataclass(frozen=True)
class System:
    """A running system under test: where clients send requests, with which key, and whose CPU counts."""

    name: str
    base_url: str  # ends in /v1
    key: str | None
    sut: Started
    note: str = ""


def modelport_bin() -> Path:
    """The `modelport` console script next to the running interpreter."""
    return Path(sys.executable).parent / "modelport"


def start_direct(group: ProcessGroup, mock: Started, mock_port: int) -> System:
    return System("direct", f"http://127.0.0.1:{mock_port}/v1", CLIENT_KEY, mock)


def start_modelport(group: ProcessGroup, run_dir: Path, mock_port: int, cpus: str | None,
                    workers: int = 1, usage: bool = True, source: Path | None = None) -> System:
    """Deploy the mock into a fresh store, then serve it (with `workers` gateway processes; without usage
    records when not `usage`: `bench/usage_off.py`, the `modelport-nousage` system; from another checkout's
    `src/` when `source` is given: the `modelport-baseline` system, e.g. a `git worktree` of an older commit)."""
    suffix = "-nousage" if not usage else "-baseline" if source else ""
    data_dir = run_dir / f"modelport-data-w{workers}{suffix}"
    port = free_port()
    cli = [sys.executable, "-m", "modelport"] if source else [str(modelport_bin())]
    env = {"PYTHONPATH": str(source)} if source else None
    subprocess.run(
        [*cli, "deploy", MODEL, "--url", f"http://127.0.0.1:{mock_port}/v1", "--data-dir", str(data_dir)],
        check=True, capture_output=True, timeout=60, env={**os.environ, **(env or {})},
    )
    serve = cli if usage else [sys.executable, "-m", "bench.usage_off"]
    argv = [*serve, "serve", "--port", str(port), "--data-dir", str(data_dir), "--no-defaults",
            "--probe-seconds", "5", "--log-level", "warning", "--workers", str(workers)]
    name = ("modelport" if workers == 1 else f"modelport-w{workers}") + suffix
    sut = group.start(name, argv, cpus, env=env, cwd=REPO)
    system = _await_modelport(sut, port, data_dir, MODEL)
    return System(name, system.base_url, system.key, sut)


def _await_modelport(sut: Started, port: int, data_dir: Path, model: str, timeout: float = 60) -> System:
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/readyz", timeout, process=sut.popen)
        key = (data_dir / "admin-key").read_text().strip()
        wait_http(f"{base}/v1/models", timeout, {"Authorization": f"Bearer {key}"}, model.encode())
    except (TimeoutError, OSError) as exc:
        raise RuntimeError(f"modelport did not come up: {exc}\n{sut.tail()}") from exc
    return System("modelport", f"{base}/v1", key, sut)


def start_modelport_defaults(group: ProcessGroup, run_dir: Path, cpus: str | None, models: list[str],
                             timeout: float = 240) -> System:
    """`modelport serve` with the built-in default deployments (managed engine instances)."""
    data_dir = run_dir / "modelport-engines"
    port = free_port()
    argv = [str(modelport_bin()), "serve", "--port", str(port), "--data-dir", str(data_dir),
            "--probe-seconds", "2", "--log-level", "warning"]
    sut = group.start("modelport-engines", argv, cpus)
    system = _await_modelport(sut, port, data_dir, models[0], timeout)
    for model in models[1:]:
        wait_http(f"{system.base_url}/models", timeout, {"Authorization": f"Bearer {system.key}"}, model.encode())
    return system


def litellm_available() -> bool:
    return (LITELLM_VENV / "bin" / "litellm").exists()


def litellm_version() -> str:
    """The installed LiteLLM version (from its dist-info directory name)."""
    for info in (LITELLM_VENV / "lib").glob("python*/site-packages/litellm-*.dist-info"):
        return info.name.removeprefix("litellm-").removesuffix(".dist-info")
    return "?"


def _litellm_config(mock_port: int, master_key: str) -> str:
    return f"""model_list:
  - model_name: {MODEL}
    litellm_params:
      model: openai/{MODEL}
      api_base: http://127.0.0.1:{mock_port}/v1
      api_key: sk-bench-upstream
litellm_settings:
  set_verbose: false
  json_logs: false
  turn_off_message_logging: true
  telemetry: false
  drop_params: true
  success_callback: []
  failure_callback: []
  callbacks: []
general_settings:
  master_key: {master_key}
  disable_spend_logs: true
  disable_error_logs: true
  disable_adding_master_key_hash_to_db: true
"""


def start_litellm(group: ProcessGroup, run_dir: Path, mock_port: int, cpus: str | None) -> System:
    """LiteLLM's proxy, one worker, a master key (checked in memory: no database)."""
    master_key = "sk-" + secrets.token_hex(32)
    config = run_dir / "litellm.yaml"
    config.write_text(_litellm_config(mock_port, master_key))
    port = free_port()
    env = {"LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False", "LITELLM_MODE": "PRODUCTION",
           "LITELLM_LOCAL_MODEL_COST_MAP": "True", "DISABLE_ADMIN_UI": "True", "NO_DOCS": "True"}
    argv = [str(LITELLM_VENV / "bin" / "litellm"), "--config", str(config), "--host", "127.0.0.1",
            "--port", str(port), "--num_workers", "1"]
    sut = group.start("litellm", argv, cpus, env=env, cwd=run_dir)
    try:
        wait_http(f"http://127.0.0.1:{port}/health/liveliness", 180, process=sut.popen)
    except TimeoutError as exc:
        raise RuntimeError(f"LiteLLM did not come up: {exc}\n{sut.tail()}") from exc
    return System("litellm", f"http://127.0.0.1:{port}/v1", master_key, sut, f"LiteLLM {litellm_version()}")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


def _nginx_config(run_dir: Path, port: int, mock_port: int) -> str:
    temp = run_dir / "nginx-temp"
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
daemon off;
pid {run_dir}/nginx.pid;
error_log {run_dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {temp}/body;
  proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi;
  scgi_temp_path {temp}/scgi;
  upstream mock {{ server 127.0.0.1:{mock_port}; keepalive 256; }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    client_max_body_size 100m;
    location / {{
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
    }}
  }}
}}
"""


def start_nginx(group: ProcessGroup, run_dir: Path, mock_port: int, cpus: str | None) -> System:
    """nginx (one worker) as a plain reverse proxy: the floor a relay can reach."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx)")
    (run_dir / "nginx-temp").mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = run_dir / "nginx.conf"
    config.write_text(_nginx_config(run_dir, port, mock_port))
    sut = group.start("nginx", [binary, "-c", str(config), "-p", str(run_dir)], cpus)
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/models", 30, process=sut.popen)
    except TimeoutError as exc:
        raise RuntimeError(f"nginx did not come up: {exc}\n{sut.tail()}") from exc
    return System("nginx", f"http://127.0.0.1:{port}/v1", CLIENT_KEY, sut, "nginx proxy_pass")
