"""What `--model` names when it is not a catalog name or a path: a Hugging Face repo or an Ollama model.

    hf://ORG/REPO[:SELECTOR][@REVISION]   SELECTOR: a quantisation (Q4_K_M) or a file path in the repo
    ORG/REPO[:SELECTOR]                   the same, when it is neither a path nor a catalog name
    ollama://[NAMESPACE/]NAME[:TAG]       an Ollama registry model (namespace `library`, tag `latest`)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HF_SCHEME = "hf://"
OLLAMA_SCHEME = "ollama://"
_PART = r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}"
_HF = re.compile(
    rf"^(?P<repo>{_PART}/{_PART})(?::(?P<selector>[A-Za-z0-9._/-]{{1,200}}))?(?:@(?P<rev>[A-Za-z0-9._/-]{{1,100}}))?$"
)
_OLLAMA = re.compile(rf"^(?:(?P<ns>{_PART})/)?(?P<name>{_PART})(?::(?P<tag>[A-Za-z0-9._-]{{1,128}}))?$")


class BadReference(ValueError):
    """A model reference that names no model: the message says what the form is."""


@dataclass(frozen=True)
class HubRef:
    """A Hugging Face (or mirror) repository, optionally one quantisation or file of it, at a revision."""

    repo: str
    selector: str | None = None
    revision: str = "main"

    def __str__(self) -> str:
        tail = (f":{self.selector}" if self.selector else "") + (f"@{self.revision}" if self.revision != "main" else "")
        return f"{HF_SCHEME}{self.repo}{tail}"


@dataclass(frozen=True)
class OllamaRef:
    """A model in an Ollama registry: namespace/name:tag."""

    namespace: str
    name: str
    tag: str

    def __str__(self) -> str:
        return f"{OLLAMA_SCHEME}{self.namespace}/{self.name}:{self.tag}"


SourceRef = HubRef | OllamaRef


def parse_reference(model: str, *, bare: bool = True) -> SourceRef | None:
    """The source `model` names, or None for a path or catalog-style name. `bare`: also read `ORG/REPO`
    (callers check first that it is not an existing path). Raises BadReference for a malformed hf:// or
    ollama:// reference."""
    if model.startswith(HF_SCHEME):
        return _hub(model[len(HF_SCHEME):], model)
    if model.startswith(OLLAMA_SCHEME):
        match = _OLLAMA.match(model[len(OLLAMA_SCHEME):])
        if match is None:
            raise BadReference(f"{model!r} is not ollama://[NAMESPACE/]NAME[:TAG]")
        return OllamaRef(match["ns"] or "library", match["name"], match["tag"] or "latest")
    if bare and _HF.match(model) and not model.startswith((".", "/", "~")) and not Path(model).expanduser().exists():
        return _hub(model, model)
    return None


def _hub(text: str, original: str) -> HubRef:
    match = _HF.match(text)
    if match is None or ".." in text:
        raise BadReference(f"{original!r} is not hf://ORG/REPO[:QUANT-or-FILE][@REVISION]")
    return HubRef(match["repo"], match["selector"], match["rev"] or "main")


def is_source_reference(model: str | None) -> bool:
    """Whether `model` is fetched from a hub before an engine can load it (malformed ones count)."""
    if not model:
        return False
    try:
        return parse_reference(model) is not None
    except BadReference:
        return True
