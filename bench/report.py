"""Turning measured rows into medians with min–max, the issue's targets with pass/fail, and markdown."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.scenarios import ENGINE_SCENARIOS, RELAY_SCENARIOS, SMOKE

Row = dict[str, Any]
Stat = dict[str, float]

METRICS = ("rps", "p50_ms", "p99_ms", "added_p50_ms", "ttfb_p50_ms", "added_ttfb_p50_ms", "chunks_per_s",
           "events_per_read", "cpu_us_per_req", "cpu_us_per_chunk", "rss_mb", "errors", "rate",
           "ratio", "back_ratio", "first_ms", "second_ms", "back_ms")


def stat(values: Sequence[float]) -> Stat:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def _with_added(rows: list[Row]) -> list[Row]:
    """Each measured row plus its latency added over `direct` in the same scenario and repetition."""
    direct = {(r["scenario"], r["rep"]): r for r in rows if r.get("system") == "direct" and "skipped" not in r}
    out = []
    for row in rows:
        base = direct.get((row.get("scenario"), row.get("rep")))
        extra: Row = {}
        if base is not None and "p50_ms" in row:
            extra["added_p50_ms"] = row["p50_ms"] - base["p50_ms"]
            if "ttfb_p50_ms" in row and "ttfb_p50_ms" in base:
                extra["added_ttfb_p50_ms"] = row["ttfb_p50_ms"] - base["ttfb_p50_ms"]
        out.append({**row, **extra})
    return out


def summarise(rows: list[Row]) -> dict[str, dict[str, dict[str, Any]]]:
    """scenario → system → metric → {median, min, max, n} (or {"skipped": why})."""
    grouped: dict[str, dict[str, list[Row]]] = {}
    for row in _with_added(rows):
        grouped.setdefault(row["scenario"], {}).setdefault(row["system"], []).append(row)
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    for scenario, by_system in grouped.items():
        summary[scenario] = {}
        for system, mine in by_system.items():
            measured = [r for r in mine if "skipped" not in r]
            if not measured:
                summary[scenario][system] = {"skipped": mine[0].get("skipped", "not run")}
                continue
            summary[scenario][system] = {m: stat([r[m] for r in measured]) for m in METRICS if m in measured[0]}
    return summary


@dataclass(frozen=True)
class Target:
    """One target of the issue, read off the summary."""

    name: str
    goal: str
    value: Callable[[dict[str, Any]], float | None]
    passes: Callable[[float], bool]
    unit: str


def _get(summary: dict[str, Any], scenario: str, system: str, metric: str) -> float | None:
    cell = summary.get(scenario, {}).get(system, {}).get(metric)
    return None if cell is None else float(cell["median"])


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _against(other: str, label: str) -> tuple[Target, Target]:
    """`modelport`'s CPU per request at c=64 and added p50 at c=1 vs system `other`'s, each <= 1.15x."""
    def pair(scenario: str, metric: str, what: str, load: str) -> Target:
        return Target(f"{label.format(what=what)} ({load}; `{other}`)", "<= 1.15x",
                      lambda s: _ratio(_get(s, scenario, "modelport", metric), _get(s, scenario, other, metric)),
                      lambda v: v <= 1.15, "x")

    return (pair("chat-c64", "cpu_us_per_req", "gateway CPU per request", "c=64"),
            pair("chat-c1", "added_p50_ms", "added latency p50", "c=1"))


TARGETS = (
    Target("non-streaming throughput vs LiteLLM (c=64)", ">= 10x",
           lambda s: _ratio(_get(s, "chat-c64", "modelport", "rps"), _get(s, "chat-c64", "litellm", "rps")),
           lambda v: v >= 10, "x"),
    Target("gateway CPU per non-streaming request (c=64)", "<= 150 us",
           lambda s: _get(s, "chat-c64", "modelport", "cpu_us_per_req"), lambda v: v <= 150, "us"),
    Target("added latency p50 (c=1)", "<= 0.35 ms",
           lambda s: _get(s, "chat-c1", "modelport", "added_p50_ms"), lambda v: v <= 0.35, "ms"),
    Target("stream first-byte overhead p50 (c=1)", "<= 0.5 ms",
           lambda s: _get(s, "stream-c1", "modelport", "added_ttfb_p50_ms"), lambda v: v <= 0.5, "ms"),
    Target("gateway CPU per relayed chunk (burst, c=64)", "<= 20 us",
           lambda s: _get(s, "stream-c64", "modelport", "cpu_us_per_chunk"), lambda v: v <= 20, "us"),
    Target("paced stream not batched: SSE events per client read (c=1)", "<= 1.1",
           lambda s: _get(s, "stream-paced-c1", "modelport", "events_per_read"), lambda v: v <= 1.1, ""),
    Target("llama.cpp tokens/s through the gateway vs direct", ">= 90%",
           lambda s: _ratio(_get(s, "engine-llama", "modelport", "rate"), _get(s, "engine-llama", "direct", "rate")),
           lambda v: v >= 0.9, "ratio"),
    Target("ONNX embeddings/s at batch 32 through the gateway vs direct", ">= 80%",
           lambda s: _ratio(_get(s, "engine-embed", "modelport", "rate"), _get(s, "engine-embed", "direct", "rate")),
           lambda v: v >= 0.8, "ratio"),
    Target("speech real-time factor through the gateway vs direct", ">= 90%",
           lambda s: _ratio(_get(s, "engine-speech", "modelport", "rate"), _get(s, "engine-speech", "direct", "rate")),
           lambda v: v >= 0.9, "ratio"),
    Target("transcription real-time factor through the gateway vs direct", ">= 90%",
           lambda s: _ratio(_get(s, "engine-transcribe", "modelport", "rate"),
                            _get(s, "engine-transcribe", "direct", "rate")),
           lambda v: v >= 0.9, "ratio"),
    Target("TTFT of a 2nd request on the same ~1,500-token prefix vs the 1st, through the gateway (engine-prefix)",
           "<= 30%", lambda s: _get(s, "engine-prefix", "modelport", "ratio"), lambda v: v <= 0.3, "ratio"),
    Target("failed single-sentence embedding requests at c=64 (engine-concurrency)", "0",
           lambda s: _get(s, "engine-concurrency", "modelport", "errors"), lambda v: v == 0, ""),
    Target("throughput with `--workers 2` vs 1 (c=64; the load generator shares the 2 cores)", "> 1x",
           lambda s: _ratio(_get(s, "chat-c64", "modelport-w2", "rps"), _get(s, "chat-c64", "modelport", "rps")),
           lambda v: v > 1.0, "x"),
    *_against("modelport-nousage", "usage accounting: {what}, on vs off"),
    *_against("modelport-baseline", "{what} vs an older checkout"),
)


def evaluate(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target with its value and PASS / FAIL / not measured."""
    results = []
    for target in TARGETS:
        value = target.value(summary)
        verdict = "not measured" if value is None else ("PASS" if target.passes(value) else "FAIL")
        results.append({"target": target.name, "goal": target.goal, "value": value, "unit": target.unit,
                        "verdict": verdict})
    return results


def _fmt(cell: dict[str, Any] | None, digits: int) -> str:
    if cell is None:
        return "–"
    med, lo, hi = cell["median"], cell["min"], cell["max"]
    if cell["n"] == 1:
        return f"{med:,.{digits}f}"
    return f"{med:,.{digits}f} ({lo:,.{digits}f}–{hi:,.{digits}f})"


RELAY_COLUMNS = (("req/s", "rps", 0), ("p50 ms", "p50_ms", 3), ("p99 ms", "p99_ms", 3),
                 ("added p50 ms", "added_p50_ms", 3), ("CPU µs/req", "cpu_us_per_req", 0),
                 ("peak RSS MiB", "rss_mb", 0))
STREAM_COLUMNS = (("first byte p50 ms", "ttfb_p50_ms", 3), ("added first byte ms", "added_ttfb_p50_ms", 3),
                  ("chunks/s", "chunks_per_s", 0), ("events/read", "events_per_read", 2),
                  ("CPU µs/chunk", "cpu_us_per_chunk", 1))


def _relay_table(title: str, by_system: dict[str, Any]) -> list[str]:
    first: dict[str, Any] = next((c for c in by_system.values() if "skipped" not in c), {})
    columns = list(RELAY_COLUMNS)
    if "cpu_us_per_chunk" in first:
        columns += [c for c in STREAM_COLUMNS if c[1] in first]
    lines = [f"**{title}**", "", "| system | " + " | ".join(c[0] for c in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for system, cells in by_system.items():
        if "skipped" in cells:
            why = cells["skipped"].splitlines()[0][:80]
            lines.append(f"| {system} | skipped: {why} |" + " |" * (len(columns) - 1))
            continue
        lines.append(f"| {system} | " + " | ".join(_fmt(cells.get(key), d) for _, key, d in columns) + " |")
    return [*lines, ""]


def _engine_table(summary: dict[str, Any]) -> list[str]:
    lines = ["**Built-in engines (c=1, same work in-process vs through `modelport serve`)**", "",
             "| scenario | direct /s | through gateway /s | gateway / direct |", "|---|---:|---:|---:|"]
    for scenario in ENGINE_SCENARIOS:
        cells = summary.get(scenario.name)
        if not cells:
            continue
        direct, gateway = cells.get("direct", {}), cells.get("modelport", {})
        ratio = _ratio(_get(summary, scenario.name, "modelport", "rate"),
                       _get(summary, scenario.name, "direct", "rate"))
        shown = "–" if ratio is None else f"{ratio:.0%}"
        lines.append(f"| {scenario.title} | {_fmt(direct.get('rate'), 1)} | {_fmt(gateway.get('rate'), 1)} | {shown} |")
    return [*lines, ""]


def markdown(summary: dict[str, Any], targets: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The results as markdown: context line, one table per scenario, the engines, the targets."""
    lines = [f"Run {meta['started']} on {meta['machine']}; {meta['repeat']} repetitions × {meta['duration']:g} s; "
             f"cells are median (min–max). Load: {meta['load_tools']}. {meta['versions']}.", ""]
    titles = {s.name: s.title for s in (*RELAY_SCENARIOS, SMOKE)}
    for scenario, by_system in summary.items():
        if scenario in titles:
            lines += _relay_table(f"{scenario}: {titles[scenario]}", by_system)
    if any(s.name in summary for s in ENGINE_SCENARIOS):
        lines += _engine_table(summary)
    lines += ["**Targets (issue 7)**", "", "| target | goal | measured | verdict |", "|---|---|---:|---|"]
    for t in targets:
        value = "–" if t["value"] is None else (f"{t['value']:.0%}" if t["unit"] == "ratio"
                                                 else f"{t['value']:,.2f} {t['unit']}".strip())
        lines.append(f"| {t['target']} | {t['goal']} | {value} | {t['verdict']} |")
    return "\n".join(lines) + "\n"
