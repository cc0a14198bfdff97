"""A secret given on the command line gets a warning that names the environment variable to use instead, and
is never echoed; one given through the environment gets none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLOSED = "127.0.0.1:9"  # nothing listens: each command fails fast after its options are read


def modelport(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    return subprocess.run([sys.executable, "-m", "modelport", *args], capture_output=True, text=True,
                          env={**clean, **env}, timeout=60)


def test_an_admin_key_on_the_command_line_is_warned_about_and_not_echoed() -> None:
    result = modelport("keys", "list", "--server", f"http://{CLOSED}", "--key", "mp-not-to-be-seen")
    assert "warning: --key is on the command line" in result.stderr
    assert "set MODELPORT_API_KEY instead" in result.stderr
    assert "mp-not-to-be-seen" not in result.stderr + result.stdout
    quiet = modelport("keys", "list", "--server", f"http://{CLOSED}", MODELPORT_API_KEY="mp-not-to-be-seen")
    assert "warning" not in quiet.stderr and "mp-not-to-be-seen" not in quiet.stderr


def test_a_database_url_with_a_password_is_warned_about_one_without_is_not() -> None:
    loud = modelport("keys", "list", "--database-url", f"postgresql://team:pw-not-to-be-seen@{CLOSED}/modelport")
    assert "warning: --database-url is on the command line" in loud.stderr
    assert "set MODELPORT_DATABASE_URL instead" in loud.stderr
    assert "pw-not-to-be-seen" not in loud.stderr + loud.stdout
    plain = modelport("keys", "list", "--database-url", f"postgresql://team@{CLOSED}/modelport")
    assert "warning" not in plain.stderr


def test_serve_warns_about_its_secrets_on_the_command_line(tmp_path: Path) -> None:
    result = modelport("serve", "--data-dir", str(tmp_path), "--metrics-token", "tok-not-to-be-seen",
                       "--database-url", f"postgresql://team:pw-not-to-be-seen@{CLOSED}/modelport")
    assert result.returncode != 0  # no store there
    assert "warning: --metrics-token is on the command line" in result.stderr
    assert "warning: --database-url is on the command line" in result.stderr
    assert "not-to-be-seen" not in result.stderr + result.stdout
