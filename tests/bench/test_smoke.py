"""The benchmark harness does not rot: its smoke run (direct + modelport, ~2 s) works end to end, and the
report turns rows into medians, added latency and target verdicts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.report import evaluate, markdown, summarise

REPO = Path(__file__).resolve().parents[2]


def test_smoke_run_produces_direct_and_modelport_rows(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--smoke", "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "smoke.json").read_text())
    rows = {row["system"]: row for row in result["rows"]}
    assert set(rows) == {"direct", "modelport"}
    for row in rows.values():
        assert row["scenario"] == "smoke-chat-c1"
        assert row["requests"] > 10 and row["errors"] == 0
        assert row["rps"] > 0 and row["p50_ms"] > 0 and row["cpu_s"] >= 0 and row["rss_mb"] > 0
    table = (tmp_path / "smoke.md").read_text()
    assert "| direct |" in table and "| modelport |" in table
    assert "added p50 ms" in table and "CPU µs/req" in table


def _row(system: str, rep: int, rps: float, p50: float) -> dict[str, object]:
    return {"scenario": "chat-c64", "system": system, "rep": rep, "rps": rps, "p50_ms": p50, "p99_ms": p50 * 3,
            "cpu_us_per_req": 100.0, "rss_mb": 50.0, "errors": 0}


def test_report_medians_added_latency_and_targets() -> None:
    rows = [_row("direct", r, 50_000, 0.5) for r in range(3)]
    rows += [_row("modelport", r, rps, 1.0 + r) for r, rps in enumerate((6000, 5000, 7000))]
    rows += [_row("litellm", r, 500, 100.0) for r in range(3)]
    rows.append({"scenario": "chat-c64", "system": "nginx", "skipped": "nginx is not installed"})
    summary = summarise(rows)
    modelport = summary["chat-c64"]["modelport"]
    assert modelport["rps"] == {"median": 6000, "min": 5000, "max": 7000, "n": 3}
    assert modelport["added_p50_ms"]["median"] == 1.5
    assert summary["chat-c64"]["nginx"] == {"skipped": "nginx is not installed"}
    verdicts = {t["target"]: t for t in evaluate(summary)}
    assert verdicts["non-streaming throughput vs LiteLLM (c=64)"]["verdict"] == "PASS"
    assert verdicts["gateway CPU per non-streaming request (c=64)"]["verdict"] == "PASS"
    assert verdicts["added latency p50 (c=1)"]["verdict"] == "not measured"
    meta = {"started": "now", "machine": "test", "repeat": 3, "duration": 5.0, "load_tools": "wrk", "versions": "-"}
    text = markdown(summary, evaluate(summary), meta)
    assert "6,000 (5,000–7,000)" in text and "skipped: nginx is not installed" in text
