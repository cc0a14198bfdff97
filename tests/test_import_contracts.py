"""The import contracts (pyproject.toml [tool.importlinter]) hold, and they do fail on a violating import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(source: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(source)}
    return subprocess.run([str(LINT), "--config", str(ROOT / "pyproject.toml"), "--no-cache"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_contracts_hold_and_catch_an_upward_import(tmp_path: Path) -> None:
    assert lint(ROOT / "src").returncode == 0
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "modelport", copy / "modelport", ignore=shutil.ignore_patterns("__pycache__"))
    relay_body = copy / "modelport" / "relay" / "body.py"
    relay_body.write_text(relay_body.read_text() + "\nfrom modelport.translate import anthropic_openai  # noqa\n")
    broken = lint(copy)
    assert broken.returncode != 0
    assert "modelport.relay is not allowed to import modelport.translate" in broken.stdout
