"""A throwaway PostgreSQL server for tests: a real server, started from the installed binaries.

    server = PostgresServer()
    url = server.start()                  # postgresql://postgres@127.0.0.1:PORT/postgres
    db_url = server.create_database("t1") # a fresh, empty database on it
    server.stop()                         # pg_ctl stop -m immediate, then the cluster dir is removed

The cluster lives in a fresh temporary directory, listens only on 127.0.0.1 (socket dir inside the
temp dir) and trusts local connections. PostgreSQL refuses to run as root, so as root the directory is
given to the `postgres` user and initdb/pg_ctl run through `runuser -u postgres --`.

With MODELPORT_TEST_POSTGRES_URL set, that server is used instead (it must allow CREATE DATABASE).
Without PostgreSQL binaries this raises `PostgresUnavailable`: the tests fail rather than skip, so
CI cannot pass without having run them. Install the binaries with `scripts/ensure-postgres`.

The pytest fixtures `postgres_server` (session) and `postgres_url` (one fresh database per test)
are defined here; a conftest.py imports them to make them available.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

ENV_URL = "MODELPORT_TEST_POSTGRES_URL"
BIN_GLOB = "/usr/lib/postgresql/*/bin"
SUPERUSER = "postgres"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries were found, or the throwaway server failed to start."""


def find_bin_dir() -> Path:
    """The bin directory of the newest PostgreSQL under /usr/lib/postgresql (or on PATH)."""
    candidates = [Path(d) for d in glob.glob(BIN_GLOB) if (Path(d) / "initdb").exists()]
    if candidates:
        return max(candidates, key=lambda d: _version_key(d.parent.name))
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    raise PostgresUnavailable(
        f"PostgreSQL server binaries (initdb, pg_ctl) not found under {BIN_GLOB} or on PATH: "
        f"run scripts/ensure-postgres, or set {ENV_URL} to a server the tests may create databases on"
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name)) or (0,)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One throwaway PostgreSQL cluster (or the external server named by MODELPORT_TEST_POSTGRES_URL)."""

    def __init__(self) -> None:
        self.url: str | None = None
        self._dir: Path | None = None
        self._bin: Path | None = None

    def start(self) -> str:
        """Start the server (once) and return a URL to its `postgres` database."""
        if self.url is not None:
            return self.url
        external = os.environ.get(ENV_URL)
        if external:
            self.url = external
            return external
        self._bin = find_bin_dir()
        self._dir = Path(tempfile.mkdtemp(prefix="modelport-pg-"))
        try:
            self.url = self._init_and_start()
        except BaseException:
            self.stop()
            raise
        return self.url

    def stop(self) -> None:
        """Stop a server started here (immediate shutdown) and delete its directory."""
        if self._dir is None:
            self.url = None
            return
        data = self._dir / "data"
        if self._bin is not None and (data / "postmaster.pid").exists():
            self._run_pg(["pg_ctl", "stop", "-D", str(data), "-m", "immediate", "-w"], check=False)
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None
        self.url = None

    def create_database(self, name: str) -> str:
        """Create an empty database `name` and return its URL."""
        admin = self.start()
        with psycopg.connect(_libpq_url(admin), autocommit=True) as connection:
            # FILE_COPY (PostgreSQL 15+) copies the small template in ~20 ms; the WAL_LOG default takes ~0.4 s.
            strategy = " STRATEGY FILE_COPY" if connection.info.server_version >= 150000 else ""
            connection.execute(f'CREATE DATABASE "{name}"{strategy}')
        return _with_database(admin, name)

    def drop_database(self, name: str) -> None:
        """Drop database `name`, disconnecting whoever is still on it."""
        admin = self.start()
        with psycopg.connect(_libpq_url(admin), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _init_and_start(self) -> str:
        assert self._dir is not None
        data, sockets = self._dir / "data", self._dir / "sockets"
        sockets.mkdir()
        if os.geteuid() == 0:
            _chown_tree(self._dir, SUPERUSER)
        self._run_pg(
            [
                "initdb",
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--no-locale",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        port = free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = self._dir / "server.log"
        self._run_pg(["pg_ctl", "start", "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options])
        return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"

    def _run_pg(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        assert self._bin is not None and self._dir is not None
        command = [str(self._bin / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        result = subprocess.run(
            command, check=False, cwd=self._dir, capture_output=True, text=True, timeout=120
        )
        if check and result.returncode != 0:
            log = self._dir / "server.log"
            server_log = log.read_text(errors="replace") if log.exists() else ""
            raise PostgresUnavailable(
                f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}{server_log}"
            )
        return result


def _chown_tree(root: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for directory, _subdirs, files in os.walk(root):
        os.chown(directory, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(directory, name), entry.pw_uid, entry.pw_gid)


def _libpq_url(url: str) -> str:
    """A SQLAlchemy-style URL (maybe with `+driver`) as a plain libpq URI for psycopg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole test session (fails, never skips, without PostgreSQL)."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty database, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    url = postgres_server.create_database(name)
    try:
        yield url
    finally:
        postgres_server.drop_database(name)
