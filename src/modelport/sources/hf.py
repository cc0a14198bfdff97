"""Models from the Hugging Face Hub or a mirror of it (`HF_ENDPOINT`), through `huggingface_hub`
(`pip install 'modelport[hub]'`): the repo's file list with sizes and checksums from `model_info`, the
files from its `resolve` URLs. `HF_TOKEN` (or a token saved by `hf auth login`) opens gated repos."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from modelport.sources.cache import CachedFile, Checksum, Record
from modelport.sources.download import FetchFailed, RemoteFile, Unreachable
from modelport.sources.reference import HubRef
from modelport.sources.selection import NoMatch, choose, quantisations

DEFAULT_ENDPOINT = "https://huggingface.co"
SEARCH_LIMIT = 10


def endpoint() -> str:
    """The Hub's URL: `$HF_ENDPOINT` (a mirror), else huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def _api() -> Any:
    try:
        from huggingface_hub import HfApi
    except ImportError as exc:
        raise FetchFailed("models from the Hub need huggingface_hub: pip install 'modelport[hub]'") from exc
    return HfApi(endpoint=endpoint())


def plan_hub(ref: HubRef) -> tuple[Record, list[RemoteFile]]:
    """What to fetch for `ref`: its record (folder by commit) and the files, from the repo's metadata."""
    return _plan(ref, _model_info(ref))


def _plan(ref: HubRef, info: Any) -> tuple[Record, list[RemoteFile]]:
    from huggingface_hub import hf_hub_url
    from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]  # public, not in __all__

    sizes: dict[str, int] = {}
    checksums: dict[str, Checksum] = {}
    for sibling in info.siblings or []:
        size = sibling.lfs.size if sibling.lfs else sibling.size
        digest = Checksum("sha256", sibling.lfs.sha256) if sibling.lfs else (
            Checksum("git-sha1", sibling.blob_id) if sibling.blob_id else None)
        if isinstance(size, int) and size >= 0 and digest is not None and _hex(digest.hex):
            sizes[sibling.rfilename] = size
            checksums[sibling.rfilename] = digest
    try:
        choice = choose(sizes, ref.selector)
    except NoMatch as exc:
        raise FetchFailed(f"{ref.repo}: {exc}") from None
    if not choice.files:
        raise FetchFailed(f"{ref.repo} has no model files an engine could load")
    commit = str(info.sha or "")
    if not _hex(commit):  # it names a folder in the cache: never a path from upstream
        raise FetchFailed(f"{endpoint()} answered no commit id for {ref.repo}")
    headers = build_hf_headers()
    files = [
        RemoteFile(name, hf_hub_url(ref.repo, name, revision=commit, endpoint=endpoint()), sizes[name],
                   checksums[name], headers)
        for name in choice.files
    ]
    record = Record(
        reference=str(ref),
        folder=f"hf/{ref.repo.replace('/', '--')}/{commit}",
        entry=choice.entry,
        files=tuple(CachedFile(f.name, f.size, f.checksum) for f in files),
        license=_license(info),
        fetched_at=time.time(),
    )
    return record, files


def _model_info(ref: HubRef) -> Any:
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        return _api().model_info(ref.repo, revision=None if ref.revision == "main" else ref.revision,
                                 files_metadata=True, timeout=30)
    except GatedRepoError:
        raise FetchFailed(f"{ref.repo} is a gated repository: set HF_TOKEN to a token that was granted access") \
            from None
    except RevisionNotFoundError:
        raise FetchFailed(f"{ref.repo} has no revision {ref.revision!r}") from None
    except RepositoryNotFoundError:
        raise FetchFailed(f"repository {ref.repo} not found on {endpoint()} (if it is private, set HF_TOKEN)") \
            from None
    except HfHubHTTPError as exc:
        raise FetchFailed(f"{endpoint()} refused {ref.repo}: {str(exc).splitlines()[0]}") from None
    except FetchFailed:
        raise
    except Exception as exc:  # the client's transport errors (connection, DNS, timeout)
        raise Unreachable(f"cannot reach {endpoint()}: {exc}") from None


def _license(info: Any) -> str:
    card = info.card_data.to_dict() if getattr(info, "card_data", None) is not None else {}
    if isinstance(card.get("license"), str):
        return str(card["license"])
    return next((t.removeprefix("license:") for t in info.tags or [] if t.startswith("license:")), "")


def _hex(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


@dataclass(frozen=True)
class SearchHit:
    """A repo the Hub offers: its id, the size of what a deploy would fetch, its quantisations, license."""

    repo: str
    size: int
    quantisations: tuple[str, ...]
    license: str
    downloads: int


def search(query: str, limit: int = SEARCH_LIMIT) -> list[SearchHit]:
    """Repos matching `query`, most downloaded first, each with what a default deploy would fetch."""
    try:
        api = _api()
        found = list(api.list_models(search=query, sort="downloads", limit=limit))
    except FetchFailed:
        raise
    except Exception as exc:
        raise FetchFailed(f"cannot search {endpoint()}: {exc}") from None
    hits = []
    for model in found:
        ref = HubRef(str(model.id))
        try:
            info = _model_info(ref)
            record, _ = _plan(ref, info)
        except FetchFailed:
            continue
        names = [s.rfilename for s in info.siblings or []]
        hits.append(SearchHit(ref.repo, record.size, tuple(quantisations(names)), record.license,
                              int(model.downloads or 0)))
    return hits
