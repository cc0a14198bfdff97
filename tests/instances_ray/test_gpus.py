"""GPU detection on recorded answers, and through a real `nvidia-smi` executable that prints one.

The answers in data/ are in the format nvidia-smi gives for our query (index, uuid, name, memory.total,
memory.used; csv, noheader, nounits), with `[N/A]` where drivers do not tell memory (GH200 in some modes).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelport.instances.gpus import (
    DetectionFailed,
    Gpu,
    detect_gpus,
    nvidia_smi_source,
    parse_nvidia_smi,
    recorded_source,
    run_nvidia_smi,
)

DATA = Path(__file__).parent / "data"
FOUR = (DATA / "nvidia-smi-4gpus.csv").read_text()


def test_a_recorded_answer_parses_to_each_gpu_with_its_memory() -> None:
    gpus = parse_nvidia_smi(FOUR)
    assert [g.index for g in gpus] == [0, 1, 2, 3]
    assert gpus[1] == Gpu(1, "GPU-6b9d3a2f-8c5e-4f1a-8b4d-2e3f40516273", "NVIDIA H100 80GB HBM3", 81559, 40960)
    assert (gpus[3].name, gpus[3].memory_total_mib) == ("NVIDIA GH200 480GB", 0)  # [N/A]


@pytest.mark.parametrize("answer", ["0, GPU-x, H100, 80", "zero, GPU-x, H100, 80, 1", "0, GPU-x, H100, lots, 1"])
def test_an_answer_that_does_not_parse_is_a_detection_failure(answer: str) -> None:
    with pytest.raises(DetectionFailed):
        parse_nvidia_smi(answer)


def test_detection_takes_the_first_source_that_can_tell_and_never_raises() -> None:
    broken = recorded_source("garbage")
    report = detect_gpus([broken, recorded_source(FOUR)])
    assert (len(report.gpus), report.via) == (4, "recorded")
    nothing = detect_gpus([broken])
    assert nothing.gpus == () and "recorded: nvidia-smi answered a line of 1 fields" in nothing.problem
    assert detect_gpus([]).problem.startswith("no NVIDIA driver found")
    assert detect_gpus([recorded_source("")]).gpus == ()  # nvidia-smi on a machine without GPUs


def _executable(path: Path, script: str) -> str:
    path.write_text("#!/bin/sh\n" + script)
    os.chmod(path, 0o700)
    return str(path)


def test_a_real_nvidia_smi_process_is_asked_our_query(tmp_path: Path) -> None:
    answer = tmp_path / "answer.csv"
    answer.write_text(FOUR)
    asked = tmp_path / "asked"
    smi = _executable(tmp_path / "nvidia-smi", f'echo "$@" > {asked}\ncat {answer}\n')
    report = detect_gpus([nvidia_smi_source(lambda: run_nvidia_smi(smi))])
    assert (len(report.gpus), report.via) == (4, "nvidia-smi")
    assert asked.read_text().split() == ["--query-gpu=index,uuid,name,memory.total,memory.used",
                                         "--format=csv,noheader,nounits"]


def test_nvidia_smi_without_a_driver_reports_its_error(tmp_path: Path) -> None:
    smi = _executable(tmp_path / "nvidia-smi", 'echo "NVIDIA-SMI has failed because it could not communicate '
                                               'with the NVIDIA driver." ; exit 9\n')
    report = detect_gpus([nvidia_smi_source(lambda: run_nvidia_smi(smi))])
    assert report.gpus == ()
    assert "exited with status 9: NVIDIA-SMI has failed" in report.problem
    missing = detect_gpus([nvidia_smi_source(lambda: run_nvidia_smi(str(tmp_path / "absent")))])
    assert "nvidia-smi did not answer" in missing.problem
