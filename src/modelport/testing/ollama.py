"""A fake Ollama registry: a real HTTP server answering what `ollama pull` (and modelport) ask of
registry.ollama.ai, for models you give it.

    GET /v2/{namespace}/{name}/manifests/{tag}    the image manifest: config and layers by sha256 digest
    GET /v2/{namespace}/{name}/blobs/sha256:{hex} a 307 redirect to /_blobs/{hex}, as the registry
                                                  redirects to its CDN
    GET /_blobs/{hex}                             the content, with Range requests
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import web

from modelport.testing.fileserver import Blob, ThreadedServer, Traffic, send_blob

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
TEMPLATE = b"{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"


class FakeOllamaRegistry(ThreadedServer):
    """`add_model()` what it serves; point `MODELPORT_OLLAMA_REGISTRY` at `url`."""

    def __init__(self) -> None:
        super().__init__()
        self.manifests: dict[tuple[str, str, str], bytes] = {}
        self.blobs: dict[str, Blob] = {}
        self.traffic = Traffic()

    def add_model(self, name: str, gguf: Path | bytes, tag: str = "latest", namespace: str = "library") -> Blob:
        """Serve `gguf` as namespace/name:tag (with a template and a params layer beside it)."""
        model = self._blob(gguf)
        template, params = self._blob(TEMPLATE), self._blob(b'{"stop": ["<|im_end|>"]}')
        config = self._blob(json.dumps({"model_format": "gguf", "model_family": "llama"}).encode())
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": _layer("application/vnd.docker.container.image.v1+json", config),
            "layers": [
                _layer("application/vnd.ollama.image.model", model),
                _layer("application/vnd.ollama.image.template", template),
                _layer("application/vnd.ollama.image.params", params),
            ],
        }
        self.manifests[(namespace, name, tag)] = json.dumps(manifest).encode()
        return model

    def _blob(self, source: Path | bytes) -> Blob:
        blob = Blob.of(source)
        self.blobs[blob.sha256] = blob
        return blob

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v2/{ns}/{name}/manifests/{tag}", self._manifest)
        app.router.add_get("/v2/{ns}/{name}/blobs/sha256:{hex}", self._blob_redirect)
        app.router.add_get("/_blobs/{hex}", self._content)
        return app

    async def _manifest(self, request: web.Request) -> web.Response:
        self.traffic.requests.append((request.method, request.path, ""))
        key = (request.match_info["ns"], request.match_info["name"], request.match_info["tag"])
        body = self.manifests.get(key)
        if body is None:
            return web.json_response({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]},
                                     status=404)
        return web.Response(body=body, content_type=MANIFEST_TYPE)

    async def _blob_redirect(self, request: web.Request) -> web.Response:
        self.traffic.requests.append((request.method, request.path, request.headers.get("Range", "")))
        if request.match_info["hex"] not in self.blobs:
            return web.json_response({"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown"}]}, status=404)
        return web.Response(status=307, headers={"Location": f"{self.url}/_blobs/{request.match_info['hex']}"})

    async def _content(self, request: web.Request) -> web.StreamResponse:
        self.traffic.requests.append((request.method, request.path, request.headers.get("Range", "")))
        blob = self.blobs.get(request.match_info["hex"])
        if blob is None:
            raise web.HTTPNotFound()
        return await send_blob(request, blob, self.traffic, {"ETag": f'"sha256:{blob.sha256}"'})


def _layer(media_type: str, blob: Blob) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": f"sha256:{blob.sha256}", "size": blob.size}
