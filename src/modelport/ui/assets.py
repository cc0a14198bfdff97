"""The UI's static files, read once from the package and served under content-hashed names.

Every file in `static/` is served as `assets/<stem>.<hash>.<ext>` with a year-long, immutable cache
lifetime. ES modules import each other by their plain names (`./api.js`); the page's import map turns
those into the hashed ones, so no build step rewrites anything. `index.html` is a template: its
`{{asset:NAME}}` marks become hashed URLs and `{{importmap}}` the map; it is served with no-cache and a
Content-Security-Policy that allows only this origin's scripts and the map's own hash. All URLs are
relative, so the UI works under any path prefix.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable

_TYPES = {
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".svg": b"image/svg+xml",
    ".html": b"text/html; charset=utf-8",
}
_MARK = re.compile(r"\{\{asset:([A-Za-z0-9_./-]+)\}\}")
IMMUTABLE = b"public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    """One file as served: its bytes and content type."""

    body: bytes
    content_type: bytes


@dataclass(frozen=True)
class Assets:
    """The hashed files by served name (`app.3f9a1c2b4d5e.js`), the page, and the page's CSP."""

    files: dict[str, Asset]
    hashed: dict[str, str]  # plain relative name -> hashed name
    index: bytes
    csp: bytes

    @classmethod
    def load(cls) -> Assets:
        """Read `modelport/ui/static` from the installed package."""
        root = resources.files("modelport.ui") / "static"
        sources = dict(_walk(root, ""))
        template = sources.pop("index.html").decode()
        files: dict[str, Asset] = {}
        hashed: dict[str, str] = {}
        for name, body in sorted(sources.items()):
            stem, dot, ext = name.rpartition(".")
            served = f"{stem}.{hashlib.sha256(body).hexdigest()[:12]}.{ext}" if dot else name
            hashed[name] = served
            files[served] = Asset(body, _TYPES.get(f".{ext}", b"application/octet-stream"))
        importmap = json.dumps(
            {"imports": {f"./assets/{name}": f"./assets/{served}" for name, served in hashed.items()
                         if name.endswith(".js")}},
            indent=1, sort_keys=True,
        )
        page = _MARK.sub(lambda m: f"assets/{hashed[m.group(1)]}", template).replace("{{importmap}}", importmap)
        digest = base64.b64encode(hashlib.sha256(importmap.encode()).digest()).decode()
        csp = (
            f"default-src 'self'; script-src 'self' 'sha256-{digest}'; style-src 'self'; img-src 'self' data: blob:; "
            "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'"
        )
        return cls(files, hashed, page.encode(), csp.encode())


def _walk(folder: Traversable, prefix: str) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for entry in folder.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            out.extend(_walk(entry, f"{prefix}{entry.name}/"))
        else:
            out.append((prefix + entry.name, entry.read_bytes()))
    return out
