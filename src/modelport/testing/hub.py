"""A fake Hugging Face Hub: a real HTTP server speaking the parts of the Hub's API that `huggingface_hub`
calls for `model_info`, `list_models`, `hf_hub_download` and `snapshot_download`, serving files you give it.

    GET  /api/models?search=&limit=&full=             list_models
    GET  /api/models/{org}/{name}[/revision/{rev}]    model_info (?blobs=true: sizes, blob ids, LFS sha256)
    HEAD|GET /{org}/{name}/resolve/{rev}/{path}       a file: small ones directly (ETag = git blob id), LFS
                                                      ones by a redirect to /_cdn/{sha256} (X-Linked-Etag,
                                                      X-Linked-Size), always with X-Repo-Commit
    GET  /_cdn/{sha256}                               LFS content, with Range requests (served on
                                                      127.0.0.2: another host, as the Hub's CDN is)

Errors come as the Hub sends them (status and X-Error-Code: RepoNotFound, RevisionNotFound, EntryNotFound,
GatedRepo). For tests it counts the bytes it sends per file, can throttle them and can corrupt a file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from modelport.testing.fileserver import Blob, ThreadedServer, Traffic, send_blob

CDN_HOST = "127.0.0.2"
LFS_THRESHOLD = 1024 * 1024  # files at least this big are served as LFS files, as the Hub does for weights


@dataclass
class FakeRepo:
    """One model repository: its files, commit id, whether it is gated, and its license."""

    repo_id: str
    files: dict[str, Blob]
    commit: str
    gated: bool = False
    license: str = "apache-2.0"
    downloads: int = 0


class FakeHub(ThreadedServer):
    """The fake Hub. `add_repo()` what it serves; point `HF_ENDPOINT` at `url`; `token` opens gated repos."""

    def __init__(self, token: str = "hf_fake_token") -> None:
        super().__init__()
        self.token = token
        self.repos: dict[str, FakeRepo] = {}
        self.traffic = Traffic()
        self.cdn_url = ""
        self.credentials_at_cdn = 0  # requests that brought the Hub's token to the CDN (a leak)

    async def more_sites(self, runner: web.AppRunner) -> None:
        """The CDN that LFS files redirect to, on another host (127.0.0.2) as the Hub's is: clients follow
        the redirect without the Hub's credentials, and `huggingface_hub` reads the metadata off the redirect."""
        site = web.TCPSite(runner, CDN_HOST, 0)
        await site.start()
        self.cdn_url = f"http://{CDN_HOST}:{runner.addresses[-1][1]}"

    def add_repo(self, repo_id: str, files: dict[str, Path | bytes], *, gated: bool = False,
                 license: str = "apache-2.0") -> FakeRepo:
        blobs = {name: Blob.of(source) for name, source in files.items()}
        commit = hashlib.sha1(repo_id.encode() + b"".join(b.git_sha1.encode() for b in blobs.values()),
                              usedforsecurity=False).hexdigest()
        repo = self.repos[repo_id] = FakeRepo(repo_id, blobs, commit, gated, license)
        return repo

    def sent(self, repo_id: str, name: str) -> int:
        """Bytes of content sent so far for one file."""
        return self.traffic.sent.get(self.repos[repo_id].files[name].sha256, 0)

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/models", self._list)
        app.router.add_get("/api/models/{org}/{name}", self._info)
        app.router.add_get("/api/models/{org}/{name}/revision/{rev}", self._info)
        app.router.add_get("/api/models/{org}/{name}/tree/{rev}", self._tree)
        app.router.add_get("/api/models/{org}/{name}/tree/{rev}/{path:.+}", self._tree)
        app.router.add_route("*", "/{org}/{name}/resolve/{rev}/{path:.+}", self._resolve)
        app.router.add_get("/_cdn/{sha256}", self._cdn)
        return app

    def _repo(self, request: web.Request) -> FakeRepo:
        self.traffic.requests.append((request.method, request.path_qs, request.headers.get("Range", "")))
        repo = self.repos.get(f"{request.match_info['org']}/{request.match_info['name']}")
        if repo is None:
            raise _error(404, "RepoNotFound", "Repository not found")
        rev = request.match_info.get("rev", "main")
        if rev not in ("main", repo.commit):
            raise _error(404, "RevisionNotFound", "Invalid rev id: " + rev)
        return repo

    def _summary(self, repo: FakeRepo, *, siblings: bool, blobs: bool) -> dict[str, Any]:
        tags = ["gguf"] if any(n.endswith(".gguf") for n in repo.files) else []
        body: dict[str, Any] = {
            "_id": repo.commit[:24], "id": repo.repo_id, "modelId": repo.repo_id, "author": repo.repo_id.split("/")[0],
            "sha": repo.commit, "private": False, "gated": "manual" if repo.gated else False, "disabled": False,
            "downloads": repo.downloads, "likes": 0, "tags": [*tags, f"license:{repo.license}"],
            "library_name": "gguf" if tags else None, "createdAt": "2026-01-01T00:00:00.000Z",
            "lastModified": "2026-01-01T00:00:00.000Z", "cardData": {"license": repo.license},
        }
        if siblings:
            body["siblings"] = [self._sibling(name, blob, blobs) for name, blob in repo.files.items()]
        return body

    @staticmethod
    def _sibling(name: str, blob: Blob, blobs: bool) -> dict[str, Any]:
        if not blobs:
            return {"rfilename": name}
        entry: dict[str, Any] = {"rfilename": name, "size": blob.size, "blobId": blob.git_sha1}
        if blob.size >= LFS_THRESHOLD:
            entry["lfs"] = {"sha256": blob.sha256, "size": blob.size, "pointerSize": 134}
        return entry

    async def _list(self, request: web.Request) -> web.Response:
        query = request.query.get("search", "").lower()
        limit = int(request.query.get("limit", "1000"))
        found = sorted((r for r in self.repos.values() if query in r.repo_id.lower()), key=lambda r: -r.downloads)
        full = request.query.get("full", "").lower() == "true"
        return web.json_response([self._summary(r, siblings=full, blobs=False) for r in found[:limit]])

    async def _info(self, request: web.Request) -> web.Response:
        repo = self._repo(request)
        blobs = request.query.get("blobs", "").lower() == "true"
        return web.json_response(self._summary(repo, siblings=True, blobs=blobs))

    async def _tree(self, request: web.Request) -> web.Response:
        """list_repo_tree (what snapshot_download lists): files under a folder, recursively here."""
        repo = self._repo(request)
        prefix = request.match_info.get("path", "").strip("/")
        entries: list[dict[str, Any]] = []
        folders = sorted({"/".join(n.split("/")[:i]) for n in repo.files for i in range(1, n.count("/") + 1)})
        for folder in folders:
            if not prefix or folder.startswith(prefix + "/"):
                entries.append({"type": "directory", "oid": hashlib.sha1(folder.encode(), usedforsecurity=False)
                                .hexdigest(), "size": 0, "path": folder})
        for name, blob in repo.files.items():
            if not prefix or name.startswith(prefix + "/"):
                entry: dict[str, Any] = {"type": "file", "oid": blob.git_sha1, "size": blob.size, "path": name}
                if blob.size >= LFS_THRESHOLD:
                    entry["lfs"] = {"oid": blob.sha256, "size": blob.size, "pointerSize": 134}
                entries.append(entry)
        return web.json_response(entries)

    async def _resolve(self, request: web.Request) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD"])
        repo = self._repo(request)
        if repo.gated and request.headers.get("Authorization") != f"Bearer {self.token}":
            raise _error(401, "GatedRepo", f"Access to model {repo.repo_id} is restricted. You must have access to "
                         "it and be authenticated to access it. Please log in.")
        blob = repo.files.get(request.match_info["path"])
        if blob is None:
            raise _error(404, "EntryNotFound", "Entry not found")
        headers = {"X-Repo-Commit": repo.commit, "ETag": f'"{blob.git_sha1}"'}
        if blob.size < LFS_THRESHOLD:
            return await send_blob(request, blob, self.traffic, headers)
        headers.update({"X-Linked-Etag": f'"{blob.sha256}"', "X-Linked-Size": str(blob.size),
                        "Location": f"{self.cdn_url}/_cdn/{blob.sha256}"})
        return web.Response(status=302, headers=headers)

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        self.traffic.requests.append((request.method, request.path, request.headers.get("Range", "")))
        if "Authorization" in request.headers:
            self.credentials_at_cdn += 1
        sha256 = request.match_info["sha256"]
        blob = next((b for r in self.repos.values() for b in r.files.values() if b.sha256 == sha256), None)
        if blob is None:
            raise web.HTTPNotFound()
        return await send_blob(request, blob, self.traffic, {"ETag": f'"{blob.sha256}"'})


def _error(status: int, code: str, message: str) -> web.HTTPException:
    headers = {"X-Error-Code": code, "X-Error-Message": message}
    cls = {401: web.HTTPUnauthorized, 404: web.HTTPNotFound}[status]
    return cls(headers=headers, text=f'{{"error":"{message}"}}', content_type="application/json")
