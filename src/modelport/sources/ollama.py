"""Models from an Ollama registry (`$MODELPORT_OLLAMA_REGISTRY`, else registry.ollama.ai): the tag's
manifest names the GGUF blob by its sha256 digest, which the registry serves (often by a redirect)."""

from __future__ import annotations

import os
import re
import time
from urllib.parse import urlsplit

import httpx
import msgspec

from modelport.sources.cache import CachedFile, Checksum, Record
from modelport.sources.download import FetchFailed, RemoteFile, Unreachable, describe_status
from modelport.sources.reference import OllamaRef

DEFAULT_REGISTRY = "https://registry.ollama.ai"
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
MODEL_LAYER = "application/vnd.ollama.image.model"
MAX_MANIFEST_BYTES = 1024 * 1024
_DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")


class Layer(msgspec.Struct, rename="camel"):
    media_type: str
    digest: str
    size: int


class Manifest(msgspec.Struct, rename="camel"):
    schema_version: int
    layers: list[Layer]


def registry() -> str:
    """The registry's base URL."""
    return (os.environ.get("MODELPORT_OLLAMA_REGISTRY") or DEFAULT_REGISTRY).rstrip("/")


def plan_ollama(ref: OllamaRef, client: httpx.Client) -> tuple[Record, list[RemoteFile]]:
    """The model layer of `ref`'s manifest as the file to fetch, and its record."""
    base = f"{registry()}/v2/{ref.namespace}/{ref.name}"
    manifest = _manifest(ref, f"{base}/manifests/{ref.tag}", client)
    layer = next((item for item in manifest.layers if item.media_type == MODEL_LAYER), None)
    match = _DIGEST.match(layer.digest) if layer is not None else None
    if layer is None or match is None or layer.size < 0:
        raise FetchFailed(f"the manifest of {ref} names no GGUF model layer")
    checksum = Checksum("sha256", match.group(1))
    file = RemoteFile("model.gguf", f"{base}/blobs/{layer.digest}", layer.size, checksum)
    host = urlsplit(registry()).netloc.replace(":", "_")
    record = Record(
        reference=str(ref),
        folder=f"ollama/{host}/{ref.namespace}/{ref.name}/{checksum.hex[:16]}",
        entry="model.gguf",
        files=(CachedFile(file.name, file.size, checksum),),
        fetched_at=time.time(),
    )
    return record, [file]


def _manifest(ref: OllamaRef, url: str, client: httpx.Client) -> Manifest:
    try:
        with client.stream("GET", url, headers={"Accept": MANIFEST_TYPE}) as response:
            if response.status_code == 404:
                raise FetchFailed(f"{ref} not found in the registry {registry()}")
            if response.status_code != 200:
                raise FetchFailed(f"the registry {registry()} refused {ref}: {describe_status(response)}")
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_MANIFEST_BYTES:
                    raise FetchFailed(f"the manifest of {ref} is over {MAX_MANIFEST_BYTES:,} bytes")
    except httpx.TransportError as exc:
        raise Unreachable(f"cannot reach {registry()}: {exc}") from None
    try:
        return msgspec.json.decode(body, type=Manifest)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise FetchFailed(f"the manifest of {ref} is not a registry manifest: {exc}") from None
