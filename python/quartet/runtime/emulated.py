"""The PTX emulator as a :class:`~quartet.runtime.program.Device`: buffers are numpy arrays
(transfers copy their bytes), and every launch executes the PTX in :mod:`quartet.emulator` with
its checkers on.

Memory nothing has written yet starts as poison (:mod:`quartet.runtime.poison`), as a GPU's fresh
allocations hold garbage, and the device keeps, per allocation, which of its bytes hold data (its
``written`` mask, one bool per byte, shared by every view of it):

- ``allocate``: a constant's bytes are written; every other buffer is poison, none written;
- ``write`` (inputs, weights, the error word): the bytes written;
- ``copy``: the target takes the source's bytes and their state (a copy of poison is poison);
- ``launch``: the emulator's ``uninit-global`` checker reports a load of a byte not written
  and adds the kernel's stores to the masks;
- ``read`` (outputs, the error word): a byte nothing wrote is an error naming the entry argument
  and the kernels launched on it, since the host would receive garbage there.

The masks live as long as the storage: ``load_program`` once per checked inference (as
:meth:`quartet.CompiledModel.emulate` and ``quartet.runtime``'s emulator device do) checks that
inference alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from quartet.errors import QuartetError
from quartet.runtime.poison import poison
from quartet.runtime.program import Buffer, Launch
from quartet.signature import TensorSpec

if TYPE_CHECKING:
    from quartet.emulator import LaunchStats


@dataclass(eq=False)
class Allocation:
    """What the device knows of one allocation besides its bytes: which of them hold data,
    what it is (for messages) and the kernels launched on it (or on a view of it)."""

    written: np.ndarray  # bool per byte
    what: str  # "argument #1 (64xfloat32)", "a temporary (...)", "a constant (...)"
    kernels: list[str] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class EmulatedBuffer:
    """A buffer's storage on the emulated device: its array and its allocation's state (a view
    has its own array over the same bytes, and the same ``Allocation``)."""

    array: np.ndarray
    allocation: Allocation
    offset: int = 0  # of the view's first byte in the allocation

    @property
    def written(self) -> np.ndarray:
        """The allocation's ``written`` mask over this view's bytes (a view of it)."""
        return self.allocation.written[self.offset : self.offset + self.array.nbytes]


class EmulatedDevice:
    """Quartet's functional PTX emulator, with its checkers (bounds, races, barriers,
    uninitialized memory) on: ``checks`` is True, False or a set of the emulator's check names.
    ``max_resident_ctas`` maps a kernel to how many of its blocks the GPU holds at once (the
    co-residency limit the compiler computed): a cooperative launch of it with a larger grid is
    refused, as a GPU would refuse it (default: no limit). ``launches`` holds every launch's
    :class:`~quartet.emulator.LaunchStats`, in order."""

    def __init__(
        self, checks: bool | set[str] = True, max_resident_ctas: Mapping[str, int] | None = None
    ):
        from quartet.emulator.checkers import normalize_checks

        self.checks = checks
        self.max_resident_ctas = dict(max_resident_ctas or {})
        self.tracks_writes = "uninit-global" in normalize_checks(checks)
        self.launches: list[LaunchStats] = []
        self._ptx: Mapping[str, str] = {}

    @property
    def instructions(self) -> int:
        """Thread-level instructions executed, over every launch."""
        return sum(stats.thread_instructions for stats in self.launches)

    @property
    def warp_instructions(self) -> int:
        return sum(stats.warp_instructions for stats in self.launches)

    @property
    def global_bytes(self) -> dict[str, list[int]]:
        """Kernel -> [bytes loaded, bytes stored] in global memory, over all its launches."""
        counts: dict[str, list[int]] = {}
        for stats in self.launches:
            kernel = counts.setdefault(stats.kernel, [0, 0])
            kernel[0] += stats.global_loaded
            kernel[1] += stats.global_stored
        return counts

    def load(self, ptx: Mapping[str, str]) -> None:
        self._ptx = ptx

    def allocate(self, buffer: Buffer) -> EmulatedBuffer:
        spec = buffer.spec
        if buffer.constant is not None:
            array = np.array(buffer.constant, spec.dtype).reshape(spec.shape)
            return EmulatedBuffer(
                array, Allocation(np.ones(spec.nbytes, np.bool_), f"a constant ({spec})")
            )
        what = "a temporary" if buffer.argument is None else f"argument #{buffer.argument}"
        array = poison(np.empty(spec.shape, spec.dtype))
        return EmulatedBuffer(
            array, Allocation(np.zeros(spec.nbytes, np.bool_), f"{what} ({spec})")
        )

    def view(self, storage: EmulatedBuffer, spec: TensorSpec, offset: int = 0) -> EmulatedBuffer:
        start = storage.offset + offset
        part = _bytes(storage.array)[offset : offset + spec.nbytes]
        return EmulatedBuffer(part.view(spec.dtype).reshape(spec.shape), storage.allocation, start)

    def write(self, storage: EmulatedBuffer, array: np.ndarray) -> None:
        _bytes(storage.array)[:] = _bytes(np.ascontiguousarray(array))
        storage.written[:] = True

    def read(self, storage: EmulatedBuffer, array: np.ndarray) -> None:
        if self.tracks_writes:
            _check_written(storage)
        _bytes(array)[:] = _bytes(storage.array)

    def copy(self, source: EmulatedBuffer, target: EmulatedBuffer) -> None:
        _bytes(target.array)[:] = _bytes(source.array)
        target.written[:] = source.written

    def launch(self, step: Launch, parameters: list[EmulatedBuffer | int]) -> None:
        from quartet.emulator import EmulatorError, launch

        buffers = [parameter for parameter in parameters if isinstance(parameter, EmulatedBuffer)]
        for storage in buffers:
            storage.allocation.kernels.append(step.kernel)
        try:
            stats = launch(
                self._ptx[step.kernel],
                step.kernel,
                step.grid,
                step.block,
                [_argument(parameter) for parameter in parameters],
                shared_bytes=step.shared_bytes,
                checks=self.checks,
                written=[_mask(parameter) for parameter in parameters],
                max_resident_ctas=(
                    self.max_resident_ctas.get(step.kernel) if step.cooperative else None
                ),
            )
        except EmulatorError as error:  # the emulator knows no QuartetError (it is an oracle)
            raise QuartetError(f"error: emulating kernel {step.kernel}: {error}") from error
        self.launches.append(stats)

    def synchronize(self) -> None:
        """Every launch ran to completion when it was made."""


def _check_written(storage: EmulatedBuffer) -> None:
    """QuartetError when the host reads back bytes of ``storage`` that nothing wrote."""
    written = storage.written
    if written.all():
        return
    unwritten = np.flatnonzero(~written)
    allocation = storage.allocation
    kernels = ", ".join(dict.fromkeys(allocation.kernels)) or "none"
    raise QuartetError(
        f"error: {allocation.what}, read back after the run: {len(unwritten)} of its "
        f"{written.size} bytes were never written (the first is byte {unwritten[0]}); "
        f"kernels given it: {kernels}"
    )


def _argument(parameter: EmulatedBuffer | int) -> np.ndarray | int:
    """What the emulator takes for a kernel parameter: a buffer's array, a scalar as it is."""
    return parameter.array if isinstance(parameter, EmulatedBuffer) else parameter


def _mask(parameter: EmulatedBuffer | int) -> np.ndarray | None:
    """The ``written`` mask the emulator keeps for a parameter (None for a scalar)."""
    return parameter.written if isinstance(parameter, EmulatedBuffer) else None


def _bytes(array: np.ndarray) -> np.ndarray:
    """The bytes of a C-contiguous array: transfers copy bytes, as a GPU's do (a bool buffer
    the kernels treat as i8 takes a numpy bool array as it is)."""
    if not array.flags.c_contiguous:
        raise QuartetError("error: the emulated device transfers C-contiguous arrays only")
    return array.reshape(-1).view(np.uint8)
