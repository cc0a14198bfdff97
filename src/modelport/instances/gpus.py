"""NVIDIA GPUs on this machine: through NVML (`nvidia-ml-py`, imported as `pynvml`) when it is installed,
else from `nvidia-smi`'s CSV answer. Detection never raises: a machine without GPUs, a driver that is not
loaded or an answer that does not parse is "no GPUs" with the reason.

A source is any callable that returns the GPUs, so tests hand the detector a recorded answer
(`recorded_source`) instead of a machine's own.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

NVIDIA_SMI_QUERY = ("--query-gpu=index,uuid,name,memory.total,memory.used", "--format=csv,noheader,nounits")
NVIDIA_SMI_TIMEOUT_SECONDS = 10.0
MAX_ANSWER_BYTES = 1 << 20  # far more than the lines of any machine's GPUs
MIB = 1024 * 1024


@dataclass(frozen=True)
class Gpu:
    """One GPU: its index (PCI bus order, as nvidia-smi numbers them), UUID, model name, memory in MiB."""

    index: int
    uuid: str
    name: str
    memory_total_mib: int
    memory_used_mib: int


@dataclass(frozen=True)
class GpuReport:
    """What detection found; `problem` says why there are none when looking failed."""

    gpus: tuple[Gpu, ...]
    via: str  # "nvml", "nvidia-smi", "recorded" or "" when nothing could look
    problem: str = ""


class DetectionFailed(Exception):
    """A source could not tell (no driver, a timeout, an answer that does not parse)."""


@dataclass(frozen=True)
class GpuSource:
    """A way to list GPUs, and its name for reports."""

    name: str
    read: Callable[[], list[Gpu]]


def parse_nvidia_smi(text: str) -> list[Gpu]:
    """The GPUs in `nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used --format=csv,noheader,
    nounits` output; `DetectionFailed` on a line that is not five such fields."""
    gpus = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = [part.strip() for part in line.split(",")]
        if len(fields) != 5:
            raise DetectionFailed(f"nvidia-smi answered a line of {len(fields)} fields, not 5: {line[:200]!r}")
        index, uuid, name, total, used = fields
        try:
            gpus.append(Gpu(int(index), uuid, name, _mib(total), _mib(used)))
        except ValueError:
            raise DetectionFailed(f"nvidia-smi answered a line that does not parse: {line[:200]!r}") from None
    return gpus


def _mib(field: str) -> int:
    """MiB in a memory field; 0 for `[N/A]` (nvidia-smi's answer where the driver does not tell)."""
    return 0 if field.startswith("[") else int(float(field))


def run_nvidia_smi(executable: str = "nvidia-smi") -> str:
    """nvidia-smi's answer to our query, bounded in time and size."""
    try:
        done = subprocess.run([executable, *NVIDIA_SMI_QUERY], capture_output=True, timeout=NVIDIA_SMI_TIMEOUT_SECONDS,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DetectionFailed(f"nvidia-smi did not answer: {exc}") from None
    if done.returncode != 0:
        error = done.stderr[:500].decode(errors="replace").strip() or done.stdout[:500].decode(errors="replace")
        raise DetectionFailed(f"nvidia-smi exited with status {done.returncode}: {error.strip()}")
    return done.stdout[:MAX_ANSWER_BYTES].decode(errors="replace")


def nvidia_smi_source(run: Callable[[], str] = run_nvidia_smi) -> GpuSource:
    return GpuSource("nvidia-smi", lambda: parse_nvidia_smi(run()))


def recorded_source(answer: str) -> GpuSource:
    """A recorded nvidia-smi answer (tests, or a machine whose GPUs are described by hand)."""
    return GpuSource("recorded", lambda: parse_nvidia_smi(answer))


def read_nvml(nvml: Any) -> list[Gpu]:
    """The GPUs through NVML (`nvml` is the `pynvml` module of nvidia-ml-py)."""
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        raise DetectionFailed(f"NVML did not start: {exc}") from None
    try:
        gpus = []
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            gpus.append(Gpu(index, _text(nvml.nvmlDeviceGetUUID(handle)), _text(nvml.nvmlDeviceGetName(handle)),
                            int(memory.total) // MIB, int(memory.used) // MIB))
        return gpus
    except nvml.NVMLError as exc:
        raise DetectionFailed(f"NVML failed: {exc}") from None
    finally:
        nvml.nvmlShutdown()


def _text(value: str | bytes) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value  # older bindings give bytes


def nvml_source() -> GpuSource | None:
    """NVML when nvidia-ml-py is installed, else None."""
    try:
        import pynvml
    except ImportError:
        return None
    return GpuSource("nvml", lambda: read_nvml(pynvml))


def machine_sources() -> list[GpuSource]:
    """This machine's ways to list GPUs, best first: NVML, then nvidia-smi when it is on PATH."""
    sources = [source for source in (nvml_source(),) if source is not None]
    executable = shutil.which("nvidia-smi")
    if executable is not None:
        sources.append(nvidia_smi_source(lambda: run_nvidia_smi(executable)))
    return sources


def detect_gpus(sources: Sequence[GpuSource] | None = None) -> GpuReport:
    """The GPUs the first source that can tell lists (`machine_sources()` by default); never raises."""
    problems = []
    for source in machine_sources() if sources is None else sources:
        try:
            return GpuReport(tuple(source.read()), source.name)
        except DetectionFailed as exc:
            problems.append(f"{source.name}: {exc}")
    return GpuReport((), "", "; ".join(problems) or "no NVIDIA driver found (neither NVML nor nvidia-smi)")
