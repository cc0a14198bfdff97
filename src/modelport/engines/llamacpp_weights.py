"""The weights type a llama.cpp instance runs: the GGUF as shipped, or a copy converted once to another type.

On a CPU the type decides speed more than size does. SmolLM2-135M ships as Q4_1, and llama.cpp's CPU
backend has no matrix-matrix kernel for Q4_1: every token of a prompt or a batch costs what one alone
does. Q8_0 and F16 have such kernels (Q8_0 through llamafile's tinyBLAS, F16 too), so a prompt reads about
twice as fast and a batch of 8 sequences decodes more tokens a second (measured in docs/benchmarks.md).

`weights_path(path, "q8_0")` converts with llama.cpp's own quantizer (`llama_model_quantize`, re-quantizing
allowed) into the cache (`catalog.cache_dir()`), once: the copy's name carries the source's size and mtime,
so a changed source is converted again, and it is written beside its final name and renamed into place,
so concurrent workers never load half a file.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
from pathlib import Path

from modelport.engines.base import EngineUnavailable
from modelport.engines.catalog import cache_dir

#: `weights_type` values: `file` keeps the GGUF's own types; the others name llama.cpp file types.
WEIGHTS_TYPES = ("file", "q8_0", "f16", "bf16", "q4_0")
_FTYPES = {"q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0", "f16": "LLAMA_FTYPE_MOSTLY_F16",
           "bf16": "LLAMA_FTYPE_MOSTLY_BF16", "q4_0": "LLAMA_FTYPE_MOSTLY_Q4_0"}


def converted_path(source: Path, weights_type: str) -> Path:
    """Where the `weights_type` copy of `source` lives in the cache (whether or not it exists yet)."""
    stat = source.stat()
    tag = hashlib.sha256(f"{source.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_dir() / "gguf" / f"{source.stem}.{tag}.{weights_type}.gguf"


def weights_path(source: Path, weights_type: str, threads: int = 1) -> Path:
    """The GGUF to load for `weights_type`: `source` itself for `file`, else its converted copy."""
    if weights_type == "file":
        return source
    import llama_cpp

    target = converted_path(source, weights_type)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, _FTYPES[weights_type])
    params.allow_requantize = True
    params.nthread = threads
    status = llama_cpp.llama_model_quantize(str(source).encode(), str(partial).encode(), ctypes.byref(params))
    if status != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise EngineUnavailable(f"converting {source.name} to {weights_type} failed (llama.cpp status {status})")
    os.replace(partial, target)
    return target
