"""Devices that run a GPU build's host program: the PTX emulator here, a CUDA driver elsewhere.

Every device serves one call, ``launch(ptx, kernel, grid, block, buffers, written)`` on numpy
buffers, so the code that sequences a compiled model's kernels (``run_host_program``) is the same
whether the bytes execute in :mod:`quartet.emulator` (CI, these machines) or on a GPU.

Temporaries and outputs start as poison (:mod:`quartet.poison`), as a GPU's fresh memory holds
garbage. Which of their bytes an earlier kernel or host copy of the inference wrote is kept per
buffer (``written``, a view's shared with its base buffer); a device that sees its kernels'
accesses (the emulator, whose ``uninit-global`` checker reports loads of the other bytes) updates
it, and the host then also checks that every output byte was written.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from quartet.errors import QuartetError
from quartet.host import Copy, HostProgram
from quartet.poison import poison, poisoned


class Device(Protocol):
    tracks_writes: bool  # whether ``launch`` adds its kernels' stores to ``written``

    def launch(
        self,
        ptx: str,
        kernel: str,
        grid: tuple[int, int, int],
        block: tuple[int, int, int],
        buffers: list[np.ndarray],
        written: list[np.ndarray | None],
    ) -> None:
        """Run one kernel to completion; buffers are read and written in place. ``written``
        holds, per buffer, a bool per byte: True where an earlier step wrote it (None: a
        buffer of data, all written)."""


class EmulatedDevice:
    """Quartet's functional PTX emulator, with its checkers (bounds, races, barriers,
    uninitialized memory) on: ``checks`` is True, False or a set of the emulator's check names."""

    def __init__(self, checks: bool | set[str] = True):
        from quartet.emulator.checkers import normalize_checks

        self.checks = checks
        self.tracks_writes = "uninit-global" in normalize_checks(checks)
        self.instructions = 0  # thread-level instructions executed, over every launch
        self.warp_instructions = 0
        self.global_bytes: dict[str, list[int]] = {}  # kernel -> [loaded, stored], all launches

    def launch(self, ptx, kernel, grid, block, buffers, written) -> None:
        from quartet.emulator import EmulatorError, launch

        try:
            stats = launch(ptx, kernel, grid, block, buffers, checks=self.checks, written=written)
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
    inputs: list[np.ndarray],
    outputs: list[np.ndarray],
) -> None:
    """Poison the outputs and allocate poisoned temporaries, then run every step in order:
    kernels on ``device``, whole-buffer copies with numpy (a CUDA device would use
    cuMemcpyDtoD). With a device that tracks writes, an output byte no step wrote is an error."""
    arguments = list(inputs) + [poison(output) for output in outputs]
    buffers: list[np.ndarray] = []
    written: list[np.ndarray | None] = []  # None: holds data from the start
    for buffer in host.buffers:
        if buffer.argument is not None:
            buffers.append(arguments[buffer.argument])
            unwritten = buffer.argument >= len(inputs)
            written.append(np.zeros(buffers[-1].nbytes, np.bool_) if unwritten else None)
        elif buffer.constant is not None:
            buffers.append(buffer.constant.copy())
            written.append(None)
        elif buffer.view_of is not None:
            buffers.append(buffers[buffer.view_of].reshape(buffer.spec.shape))
            written.append(written[buffer.view_of])  # the same bytes, the same state
        else:
            buffers.append(poisoned(buffer.spec.shape, buffer.spec.dtype))
            written.append(np.zeros(buffers[-1].nbytes, np.bool_))
    for step in host.steps:
        if isinstance(step, Copy):
            np.copyto(buffers[step.target], buffers[step.source])
            _copy_written(written, step)
            continue
        device.launch(
            ptx[step.kernel],
            step.kernel,
            step.grid,
            step.block,
            [buffers[i] for i in step.buffers],
            [written[i] for i in step.buffers],
        )
    if device.tracks_writes:
        _check_outputs_written(host, written, len(inputs))


def _copy_written(written: list[np.ndarray | None], copy: Copy) -> None:
    """A copy writes its target: each byte holds data where the source byte did (a copy of
    poison is still poison, reported where it is read)."""
    target, source = written[copy.target], written[copy.source]
    if target is not None:
        target[:] = True if source is None else source


def _check_outputs_written(
    host: HostProgram, written: list[np.ndarray | None], first_output: int
) -> None:
    """QuartetError for an output with bytes no kernel or host copy wrote, naming the kernels
    given it (or a view of it)."""
    for index, buffer in enumerate(host.buffers):
        if buffer.argument is None or buffer.argument < first_output or written[index].all():
            continue
        unwritten = np.flatnonzero(~written[index])
        kernels = sorted(
            {
                step.kernel
                for step in host.launches
                if any(written[i] is written[index] for i in step.buffers)
            }
        )
        raise QuartetError(
            f"error: output #{buffer.argument - first_output} ({buffer.spec}): "
            f"{len(unwritten)} of its {written[index].size} bytes were never written (the "
            f"first is byte {unwritten[0]}); kernels given it: {', '.join(kernels) or 'none'}"
        )
