"""A GPU build's host side as data, and the one sequencer that runs it on any device.

A host program lists the device buffers of one compiled model (the entry's arguments, constants,
temporaries and reshaped views of them) and the steps of one inference in order (kernel
launches, whole-buffer copies). The compiler reads it from the outlined entry function
(``quartet.host``); an artifact keeps it in its manifest (:mod:`quartet.runtime.artifact`).

Every device (the PTX emulator, a CUDA GPU) implements :class:`Device`, so the code that
sequences a model's kernels is the same wherever the bytes execute: :func:`load_program` once
per model and device (kernels loaded, buffers allocated, constants written), then
:func:`run_host_program` once per inference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from quartet.runtime.errors import ErrorTable, new_word
from quartet.signature import TensorSpec


@dataclass(frozen=True, eq=False)
class Buffer:
    """A device buffer: an entry argument (inputs, then outputs), a constant, a temporary, or
    a reshaped view of another buffer (same bytes)."""

    spec: TensorSpec
    argument: int | None = None  # position among the entry's arguments
    constant: np.ndarray | None = None  # contents of a constant global
    view_of: int | None = None  # index of the buffer this one reshapes


@dataclass(frozen=True)
class Launch:
    """One kernel launch. ``shared_bytes`` is the dynamic shared memory per block (a kernel's
    static shared memory is in its PTX); ``cooperative`` marks a kernel whose blocks must all be
    resident at once (a persistent or grid-barrier kernel), which a GPU launches cooperatively
    after checking that the grid fits."""

    kernel: str
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    buffers: tuple[int, ...]  # indices into HostProgram.buffers, in kernel-parameter order
    shared_bytes: int = 0
    cooperative: bool = False


@dataclass(frozen=True)
class Copy:
    """A device-to-device copy of a whole buffer (``memref.copy`` left by bufferization)."""

    source: int
    target: int


@dataclass(frozen=True)
class HostProgram:
    buffers: tuple[Buffer, ...]
    steps: tuple[Launch | Copy, ...]  # in program order
    errors: ErrorTable | None = None  # the error word among the arguments, and its messages

    @property
    def error_word(self) -> int | None:
        """The argument the kernels' runtime checks write into (zeroed before each run, read
        after it), if any kernel checks."""
        return None if self.errors is None else self.errors.argument

    @property
    def launches(self) -> list[Launch]:
        return [step for step in self.steps if isinstance(step, Launch)]

    @property
    def argument_buffers(self) -> dict[int, int]:
        """Entry argument position -> index of its buffer."""
        return {b.argument: i for i, b in enumerate(self.buffers) if b.argument is not None}


class Device(Protocol):
    """Where a host program's buffers live and its kernels run. A storage handle is whatever
    the device uses for one buffer (a numpy array, a device pointer)."""

    def load(self, ptx: Mapping[str, str]) -> None:
        """Make every kernel of ``ptx`` (kernel name -> PTX text) launchable."""

    def allocate(self, buffer: Buffer) -> Any:
        """Storage for a buffer that is no view: a constant's holds its data; what the others
        hold is the device's (zeros on CUDA, poison in the emulator, which tracks what is
        written): a program must write a byte before it reads it."""

    def view(self, storage: Any, spec: TensorSpec) -> Any:
        """``storage`` seen with another shape (the same bytes)."""

    def write(self, storage: Any, array: np.ndarray) -> None:
        """Host -> device: ``array`` (of the buffer's spec) into ``storage``."""

    def read(self, storage: Any, array: np.ndarray) -> None:
        """Device -> host: ``storage`` into ``array`` (of the buffer's spec)."""

    def copy(self, source: Any, target: Any) -> None:
        """Every byte of ``source`` into ``target`` (same size), after the steps before."""

    def launch(self, step: Launch, buffers: list[Any]) -> None:
        """Start one kernel on ``buffers`` (its parameters, in order) after the steps before."""

    def synchronize(self) -> None:
        """Return when every step started so far has finished; raise if one failed."""


def load_program(host: HostProgram, ptx: Mapping[str, str], device: Device) -> list[Any]:
    """Prepare ``device`` to run ``host``: kernels loaded, one storage per buffer (views share
    their base's). Done once per model and device; every inference reuses the storage."""
    device.load(ptx)
    storage: list[Any] = []
    for buffer in host.buffers:
        if buffer.view_of is None:
            storage.append(device.allocate(buffer))
        else:
            storage.append(device.view(storage[buffer.view_of], buffer.spec))
    return storage


def run_host_program(
    host: HostProgram,
    device: Device,
    storage: list[Any],
    inputs: Mapping[int, np.ndarray],
    outputs: Mapping[int, np.ndarray],
) -> None:
    """One inference: ``inputs`` (entry argument position -> array) written into their
    buffers, every step run in order, then ``outputs`` (position -> array) filled in place.
    The error word, if the program has one, is zeroed before the steps and read after them:
    QuartetError naming the operator whose runtime check failed."""
    slots = host.argument_buffers
    word = None
    if host.errors is not None:
        word = new_word()
        device.write(storage[slots[host.errors.argument]], word)
    for position, array in inputs.items():
        device.write(storage[slots[position]], array)
    for step in host.steps:
        if isinstance(step, Copy):
            device.copy(storage[step.source], storage[step.target])
        else:
            device.launch(step, [storage[index] for index in step.buffers])
    device.synchronize()
    for position, array in outputs.items():
        device.read(storage[slots[position]], array)
    if word is not None:
        device.read(storage[slots[host.errors.argument]], word)
        host.errors.raise_if_set(word)
