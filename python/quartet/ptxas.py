"""Assemble PTX with NVIDIA's ``ptxas -v`` and read back registers, spills and shared memory.

ptxas is the check that the PTX Quartet ships is valid for the chip, and its ``-v`` report gives
the static figures Quartet reports instead of GPU times (no GPU here).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from quartet.errors import QuartetError


@dataclass(frozen=True)
class PtxasInfo:
    """What ``ptxas -v`` reports for one kernel."""

    kernel: str
    registers: int
    spill_stores: int
    spill_loads: int
    stack_frame: int
    shared_bytes: int
    barriers: int


def find_ptxas() -> str | None:
    """ptxas on PATH, else the one NVIDIA's ``nvidia-cuda-nvcc`` wheel ships, else None."""
    found = shutil.which("ptxas")
    if found:
        return found
    spec = importlib.util.find_spec("nvidia")
    roots = spec.submodule_search_locations if spec else []
    for root in roots or []:
        for candidate in sorted(Path(root).glob("**/bin/ptxas")):
            if os.access(candidate, os.X_OK):
                return str(candidate)
    return None


_FUNCTION = re.compile(r"Compiling entry function '(\w+)'")
_FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_USED = re.compile(
    r"Used (\d+) registers(?:, used (\d+) barriers)?(?:, \d+ bytes cumulative stack size)?"
    r"(?:, (\d+) bytes smem)?"
)


def assemble(ptx: str, chip: str) -> list[PtxasInfo]:
    """Run ``ptxas -arch=chip -v`` on ``ptx``; one PtxasInfo per kernel, QuartetError on failure."""
    ptxas = find_ptxas()
    if ptxas is None:
        raise QuartetError("error: ptxas not found (install CUDA or the nvidia-cuda-nvcc wheel)")
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "kernel.ptx"
        source.write_text(ptx)
        done = subprocess.run(
            [ptxas, f"-arch={chip}", "-v", str(source), "-o", str(Path(scratch) / "kernel.cubin")],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise QuartetError(f"error: ptxas rejected the PTX for {chip}:\n{done.stderr.strip()}")
    return parse_report(done.stderr)


def assemble_all(ptx: Mapping[str, str], chip: str) -> list[PtxasInfo]:
    """:func:`assemble` for every PTX text in ``ptx``, one ptxas process per CPU at a time."""
    if not ptx:
        return []
    with ThreadPoolExecutor(max_workers=min(len(ptx), os.cpu_count() or 1)) as pool:
        reports = pool.map(lambda text: assemble(text, chip), ptx.values())
        return [info for infos in reports for info in infos]


def parse_report(report: str) -> list[PtxasInfo]:
    """``ptxas -v``'s report (its stderr) -> one PtxasInfo per kernel, in report order."""
    infos, kernel, frame = [], None, (0, 0, 0)
    for line in report.splitlines():
        if match := _FUNCTION.search(line):
            kernel = match.group(1)
        elif match := _FRAME.search(line):
            frame = tuple(int(v) for v in match.groups())
        elif (match := _USED.search(line)) and kernel is not None:
            registers, barriers, shared = (int(v or 0) for v in match.groups())
            infos.append(
                PtxasInfo(kernel, registers, frame[1], frame[2], frame[0], shared, barriers)
            )
            kernel = None
    return infos
