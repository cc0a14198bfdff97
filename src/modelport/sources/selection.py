"""Which files of a repository an engine needs: for a GGUF repo one quantisation (split parts together),
for a diffusers pipeline its components, otherwise the model's files without docs or duplicate formats.

The default quantisation is Q4_K_M: llama.cpp's usual recommendation and what Ollama's library ships for
most models: under a third of the F16 size, with less loss than Q4_0 at about the same size. When a repo
has no Q4_K_M, the next of `QUANT_PREFERENCE` it has is taken, else its smallest file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

QUANT_PREFERENCE = ("Q4_K_M", "Q4_K_S", "Q4_0", "Q4_1", "IQ4_XS", "Q5_K_M", "Q5_K_S", "Q5_0", "Q5_1", "Q6_K",
                    "Q8_0", "BF16", "F16", "F32")
_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
_QUANT = re.compile(r"(?:^|[-._/])((?:I?Q\d(?:_[A-Z0-9]+)*)|BF16|F16|F32)(?=[-._/]|$)", re.IGNORECASE)
_DOCS = (".md", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".pdf")
_ALTERNATIVE_WEIGHTS = (".bin", ".pt", ".pth", ".h5", ".msgpack", ".ot", ".onnx", ".tflite", ".ckpt", ".mlmodel")
MAX_FILES = 10_000


@dataclass(frozen=True)
class Choice:
    """The files to fetch (repo paths) and the one the engine loads ("" for the folder)."""

    files: tuple[str, ...]
    entry: str


class NoMatch(ValueError):
    """The selector names nothing in the repository; the message lists what it offers."""


def choose(sizes: dict[str, int], selector: str | None) -> Choice:
    """The files of a repo (path: size) an engine needs, narrowed by `selector` (a quant or a path)."""
    names = [n for n in sizes if safe_path(n)][:MAX_FILES]
    ggufs = [n for n in names if n.lower().endswith(".gguf") and not PurePosixPath(n).name.lower().startswith("mmproj")]
    if ggufs:
        return _choose_gguf(ggufs, selector, sizes)
    if selector:
        picked = tuple(n for n in names if n == selector or n.startswith(selector.rstrip("/") + "/"))
        if not picked:
            raise NoMatch(f"no file or folder {selector!r} in the repository")
        return Choice(picked, picked[0] if picked == (selector,) else "")
    if "model_index.json" in names:
        return Choice(tuple(_diffusers(names)), "")
    return Choice(tuple(_model_files(names)), "")


def quantisations(names: list[str]) -> list[str]:
    """The quantisation labels a GGUF repo offers, in preference order then by name."""
    found = {label for n in names if n.lower().endswith(".gguf") if (label := quant_of(n))}
    rank = {q: i for i, q in enumerate(QUANT_PREFERENCE)}
    return sorted(found, key=lambda q: (rank.get(q, len(rank)), q))


def quant_of(name: str) -> str | None:
    """Q4_K_M for `qwen3-0.6b-q4_k_m.gguf` (or a split part of it); None when the name has no label."""
    stem = _SPLIT.sub("", name)
    stem = stem[: -len(".gguf")] if stem.lower().endswith(".gguf") else stem
    hits = _QUANT.findall(stem)
    return hits[-1].upper() if hits else None


def _choose_gguf(ggufs: list[str], selector: str | None, sizes: dict[str, int]) -> Choice:
    groups: dict[str, list[str]] = {}
    for name in sorted(ggufs):
        groups.setdefault(_SPLIT.sub(".gguf", name), []).append(name)
    if selector and (selector in ggufs or selector in groups):
        key = _SPLIT.sub(".gguf", selector)
    else:
        by_quant = {quant_of(key): key for key in sorted(groups, reverse=True)}
        wanted = selector.upper() if selector else next((q for q in QUANT_PREFERENCE if q in by_quant), None)
        if selector and wanted not in by_quant:
            offered = ", ".join(quantisations(ggufs)) or "no labelled quantisations"
            raise NoMatch(f"no {selector} GGUF in the repository (it has: {offered})")
        key = by_quant[wanted] if wanted else min(groups, key=lambda k: sum(sizes[n] for n in groups[k]))
    parts = tuple(groups[key])
    return Choice(parts, parts[0])


def _diffusers(names: list[str]) -> list[str]:
    """model_index.json and its component folders; safetensors over other formats, full precision over
    fp16 variants when both are there; never the single-file checkpoints beside them."""
    picked = ["model_index.json"]
    folders: dict[str, list[str]] = {}
    for name in names:
        if "/" in name:
            folders.setdefault(name.split("/", 1)[0], []).append(name)
    for files in folders.values():
        picked += _model_files(files)
    return picked


def _model_files(names: list[str]) -> list[str]:
    kept = [n for n in names if not n.lower().endswith(_DOCS) and PurePosixPath(n).name != ".gitattributes"]
    if any(n.endswith(".safetensors") for n in kept):
        kept = [n for n in kept if not n.lower().endswith(_ALTERNATIVE_WEIGHTS)]
        full = [n for n in kept if n.endswith(".safetensors") and ".fp16." not in n]
        if full:
            kept = [n for n in kept if not (n.endswith(".safetensors") and ".fp16." in n)]
    return kept


def safe_path(name: str) -> bool:
    """A relative path with no `..`, empty or hidden-parent parts, backslashes or control characters."""
    if not name or len(name) > 500 or name.startswith("/") or "\\" in name or any(ord(c) < 32 for c in name):
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))
