"""Devices that run a GPU build's host program: the PTX emulator here, a CUDA driver elsewhere.

Every device serves one call, ``launch(ptx, kernel, grid, block, buffers)`` on numpy buffers, so
the code that sequences a compiled model's kernels (``run_host_program``) is the same whether the
bytes execute in :mod:`quartet.emulator` (CI, these machines) or on a GPU.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from quartet.errors import QuartetError
from quartet.host import Copy, HostProgram


class Device(Protocol):
    def launch(
        self,
        ptx: str,
        kernel: str,
        grid: tuple[int, int, int],
        block: tuple[int, int, int],
        buffers: list[np.ndarray],
    ) -> None:
        """Run one kernel to completion; buffers are read and written in place."""


class EmulatedDevice:
    """Quartet's functional PTX emulator, with its checkers (bounds, races, barriers) on."""

    def __init__(self, checks: bool = True):
        self.checks = checks
        self.instructions = 0  # thread-level instructions executed, over every launch
        self.warp_instructions = 0
        self.global_bytes: dict[str, list[int]] = {}  # kernel -> [loaded, stored], all launches

    def launch(self, ptx, kernel, grid, block, buffers) -> None:
        from quartet.emulator import EmulatorError, launch

        try:
            stats = launch(ptx, kernel, grid, block, buffers, checks=self.checks)
        except EmulatorError as error:  # the emulator knows no QuartetError (it imports no MLIR)
            raise QuartetError(f"error: emulating kernel {kernel}: {error}") from error
        self.instructions += stats.thread_instructions
        self.warp_instructions += stats.warp_instructions
        counts = self.global_bytes.setdefault(kernel, [0, 0])
        counts[0] += stats.global_loaded
        counts[1] += stats.global_stored


def run_host_program(
    host: HostProgram,
    ptx: dict[str, str],
    device: Device,
    arguments: list[np.ndarray],
) -> None:
    """Allocate the temporaries, then run every step in order: kernels on ``device``, whole-buffer
    copies with numpy (a CUDA device would use cuMemcpyDtoD). ``arguments`` are the inputs and
    outputs; the error word, if the program has one, is zeroed here and checked after the run
    (QuartetError naming the operator whose runtime check failed)."""
    word = None
    if host.errors is not None:
        arguments, word = host.errors.arguments(arguments)
    buffers: list[np.ndarray] = []
    for buffer in host.buffers:
        if buffer.argument is not None:
            buffers.append(arguments[buffer.argument])
        elif buffer.constant is not None:
            buffers.append(buffer.constant.copy())
        elif buffer.view_of is not None:
            buffers.append(buffers[buffer.view_of].reshape(buffer.spec.shape))
        else:
            buffers.append(np.zeros(buffer.spec.shape, buffer.spec.dtype))
    for step in host.steps:
        if isinstance(step, Copy):
            np.copyto(buffers[step.target], buffers[step.source])
            continue
        device.launch(
            ptx[step.kernel], step.kernel, step.grid, step.block, [buffers[i] for i in step.buffers]
        )
    if word is not None:
        host.errors.raise_if_set(word)
