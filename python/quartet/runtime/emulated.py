"""The PTX emulator as a :class:`~quartet.runtime.program.Device`: buffers are numpy arrays
(transfers copy their bytes), and every launch executes the PTX in :mod:`quartet.emulator` with
its checkers on."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from quartet.errors import QuartetError
from quartet.runtime.program import Buffer, Launch
from quartet.signature import TensorSpec


class EmulatedDevice:
    """Quartet's functional PTX emulator, with its checkers (bounds, races, barriers) on."""

    def __init__(self, checks: bool = True):
        self.checks = checks
        self.instructions = 0  # thread-level instructions executed, over every launch
        self.warp_instructions = 0
        self.global_bytes: dict[str, list[int]] = {}  # kernel -> [loaded, stored], all launches
        self._ptx: Mapping[str, str] = {}

    def load(self, ptx: Mapping[str, str]) -> None:
        self._ptx = ptx

    def allocate(self, buffer: Buffer) -> np.ndarray:
        if buffer.constant is not None:
            return np.array(buffer.constant, buffer.spec.dtype).reshape(buffer.spec.shape)
        return np.zeros(buffer.spec.shape, buffer.spec.dtype)

    def view(self, storage: np.ndarray, spec: TensorSpec, offset: int = 0) -> np.ndarray:
        part = _bytes(storage)[offset : offset + spec.nbytes]
        return part.view(spec.dtype).reshape(spec.shape)

    def write(self, storage: np.ndarray, array: np.ndarray) -> None:
        _bytes(storage)[:] = _bytes(np.ascontiguousarray(array))

    def read(self, storage: np.ndarray, array: np.ndarray) -> None:
        _bytes(array)[:] = _bytes(storage)

    def copy(self, source: np.ndarray, target: np.ndarray) -> None:
        _bytes(target)[:] = _bytes(source)

    def launch(self, step: Launch, parameters: list[np.ndarray | int]) -> None:
        from quartet.emulator import EmulatorError, launch

        try:
            stats = launch(
                self._ptx[step.kernel],
                step.kernel,
                step.grid,
                step.block,
                parameters,
                shared_bytes=step.shared_bytes,
                checks=self.checks,
            )
        except EmulatorError as error:  # the emulator knows no QuartetError (it is an oracle)
            raise QuartetError(f"error: emulating kernel {step.kernel}: {error}") from error
        self.instructions += stats.thread_instructions
        self.warp_instructions += stats.warp_instructions
        counts = self.global_bytes.setdefault(step.kernel, [0, 0])
        counts[0] += stats.global_loaded
        counts[1] += stats.global_stored

    def synchronize(self) -> None:
        """Every launch ran to completion when it was made."""


def _bytes(array: np.ndarray) -> np.ndarray:
    """The bytes of a C-contiguous array: transfers copy bytes, as a GPU's do (a bool buffer
    the kernels treat as i8 takes a numpy bool array as it is)."""
    if not array.flags.c_contiguous:
        raise QuartetError("error: the emulated device transfers C-contiguous arrays only")
    return array.reshape(-1).view(np.uint8)
