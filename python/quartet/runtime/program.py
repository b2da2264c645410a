"""A GPU build's host side as data, and the one sequencer that runs it on any device.

A host program lists the device buffers of one compiled model (the entry's arguments, constants,
temporaries and views of them), the host's scalar registers (loop indices, values read back,
integer arithmetic on them) and the steps of one inference in order: kernel launches,
whole-buffer copies, and the host's control flow around them (a loop, a while loop whose
condition is read back from the device, a branch on a read-back predicate). The compiler reads
it from the outlined entry function (``quartet.host``); an artifact keeps it in its manifest
(:mod:`quartet.runtime.artifact`).

Every device (the PTX emulator, a CUDA GPU) implements :class:`Device`, so the code that
sequences a model's kernels is the same wherever the bytes execute: :func:`load_program` once
per model and device (kernels loaded, buffers allocated, constants written), then
:func:`run_host_program` once per inference. A read-back (:class:`Read`) is a host round trip:
the host waits for every step before it, then copies the value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from quartet.errors import QuartetError
from quartet.runtime import scalars
from quartet.runtime.errors import ErrorTable, new_word
from quartet.signature import TensorSpec


@dataclass(frozen=True, eq=False)
class Buffer:
    """A device buffer: an entry argument (inputs, then outputs), a constant, a temporary, or
    a view of another buffer: the same bytes reshaped, or (``offset``) a contiguous part of
    them starting at the element the register ``offset`` holds when a step uses it (a row of
    a stacked loop output)."""

    spec: TensorSpec
    argument: int | None = None  # position among the entry's arguments
    constant: np.ndarray | None = None  # contents of a constant global
    view_of: int | None = None  # index of the buffer this one views
    offset: int | None = None  # register: the view's first element in its base (elements)


@dataclass(frozen=True)
class Scalar:
    """A host register: a signless integer of ``bits`` (64 for an index, 1 for a predicate),
    ``value`` when the run starts (a constant's value; else 0 until a step sets it)."""

    bits: int
    value: int = 0


@dataclass(frozen=True)
class Launch:
    """One kernel launch. ``shared_bytes`` is the dynamic shared memory per block (a kernel's
    static shared memory is in its PTX); ``cooperative`` marks a kernel whose blocks must all be
    resident at once (a persistent or grid-barrier kernel), which a GPU launches cooperatively
    after checking that the grid fits. A kernel that takes a loop index gets it by value:
    ``scalars`` are (parameter position, register) pairs, ``buffers`` fill the other
    parameters in order."""

    kernel: str
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    buffers: tuple[int, ...]  # indices into HostProgram.buffers, in kernel-parameter order
    shared_bytes: int = 0
    cooperative: bool = False
    scalars: tuple[tuple[int, int], ...] = ()  # (parameter position, register)

    @property
    def parameter_count(self) -> int:
        return len(self.buffers) + len(self.scalars)


@dataclass(frozen=True)
class Copy:
    """A device-to-device copy of a whole buffer (``memref.copy`` left by bufferization; a
    row of a stacked output is a copy into a view)."""

    source: int
    target: int


@dataclass(frozen=True)
class Compute:
    """``registers[result] = op(registers[operands])``: integer arithmetic on the host
    (``op`` one of :data:`quartet.runtime.scalars.OPERATIONS`, as the ``arith`` op)."""

    op: str
    operands: tuple[int, ...]
    result: int


@dataclass(frozen=True)
class Read:
    """A host round trip: once every step before it has finished, element
    ``registers[offset]`` of buffer ``buffer`` (an integer or boolean) into ``result``."""

    buffer: int
    offset: int  # register
    result: int


@dataclass(frozen=True)
class Assign:
    """``registers[targets] = registers[sources]``, all at once (the values a loop iteration
    passes to the next, a branch's results)."""

    targets: tuple[int, ...]
    sources: tuple[int, ...]


@dataclass(frozen=True)
class Loop:
    """``for registers[index] in range(lower, upper, step)`` (registers, read once when the
    loop starts, compared signed): the body's steps once per iteration (``scf.for``)."""

    index: int
    lower: int
    upper: int
    step: int
    body: tuple[Step, ...]


@dataclass(frozen=True)
class While:
    """``before``, then while ``registers[condition]`` is true: ``body``, then ``before``
    again (``scf.while``; the condition usually comes from a :class:`Read`: one round trip
    per iteration)."""

    before: tuple[Step, ...]
    condition: int
    body: tuple[Step, ...]


@dataclass(frozen=True)
class If:
    """``then`` if ``registers[condition]`` is true, else ``otherwise`` (``scf.if``)."""

    condition: int
    then: tuple[Step, ...]
    otherwise: tuple[Step, ...]


Step = Launch | Copy | Compute | Read | Assign | Loop | While | If
CONTROL = (Loop, While, If)


def nested(step: Step) -> tuple[tuple[Step, ...], ...]:
    """The step lists inside a control step (none for the others)."""
    if isinstance(step, Loop):
        return (step.body,)
    if isinstance(step, While):
        return (step.before, step.body)
    if isinstance(step, If):
        return (step.then, step.otherwise)
    return ()


def walk(steps: tuple[Step, ...]) -> list[Step]:
    """Every step, nested ones included, in program order."""
    found = []
    for step in steps:
        found.append(step)
        for inner in nested(step):
            found += walk(inner)
    return found


@dataclass(frozen=True)
class HostProgram:
    """A GPU build's buffers and steps. A persistent kernel (quartet-rammer) adds two
    buffers: ``counters``, one i32 per launch it runs, zeroed once when the program is
    loaded and never reset, and ``epoch``, one i32 the host sets to the inference's number
    (1, 2, ...) before each run; its waits wait for ``tasks x epoch`` on a counter."""

    buffers: tuple[Buffer, ...]
    steps: tuple[Step, ...]  # in program order
    errors: ErrorTable | None = None  # the error word among the arguments, and its messages
    scalars: tuple[Scalar, ...] = ()  # the host's registers
    counters: int | None = None  # index of the persistent kernels' counters buffer
    epoch: int | None = None  # index of the buffer holding the inference's number

    @property
    def error_word(self) -> int | None:
        """The argument the kernels' runtime checks write into (zeroed before each run, read
        after it), if any kernel checks."""
        return None if self.errors is None else self.errors.argument

    @property
    def launches(self) -> list[Launch]:
        """Every launch step, those inside loops and branches included (once each)."""
        return [step for step in walk(self.steps) if isinstance(step, Launch)]

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

    def view(self, storage: Any, spec: TensorSpec, offset: int = 0) -> Any:
        """The ``spec.nbytes`` bytes of ``storage`` from byte ``offset`` on, seen as ``spec``
        (the caller checks that they lie inside it)."""

    def write(self, storage: Any, array: np.ndarray) -> None:
        """Host -> device: ``array`` (of the buffer's spec) into ``storage``."""

    def read(self, storage: Any, array: np.ndarray) -> None:
        """Device -> host: ``storage`` into ``array`` (of the buffer's spec)."""

    def copy(self, source: Any, target: Any) -> None:
        """Every byte of ``source`` into ``target`` (same size), after the steps before."""

    def launch(self, step: Launch, parameters: list[Any]) -> None:
        """Start one kernel after the steps before; ``parameters`` in order: a storage per
        buffer parameter, a Python int (of the PTX parameter's width) per scalar one."""

    def synchronize(self) -> None:
        """Return when every step started so far has finished; raise if one failed."""


@dataclass
class LoadedProgram:
    """A host program loaded on a device: one storage per buffer, and how many inferences
    have run on it (the epoch of the next one is that plus one)."""

    storage: list[Any]
    inferences: int = 0

    def next_epoch(self) -> np.ndarray:
        """The next inference's number as the epoch buffer holds it (an i32 that wraps, as
        the counters do)."""
        self.inferences += 1
        return np.array([self.inferences % 2**32], np.uint32).view(np.int32)


def load_program(host: HostProgram, ptx: Mapping[str, str], device: Device) -> LoadedProgram:
    """Prepare ``device`` to run ``host``: kernels loaded, one storage per buffer (views share
    their base's; a view at a register's offset is placed when a step uses it; the counters
    are zeroed here, once). Done once per model and device; every inference reuses the
    storage."""
    device.load(ptx)
    storage: list[Any] = []
    for buffer in host.buffers:
        if buffer.view_of is None:
            storage.append(device.allocate(buffer))
        else:
            storage.append(device.view(storage[buffer.view_of], buffer.spec))
    if host.counters is not None:  # a device's fresh buffer may hold anything (poison)
        spec = host.buffers[host.counters].spec
        device.write(storage[host.counters], np.zeros(spec.shape, spec.dtype))
    return LoadedProgram(storage)


@dataclass
class RunCounts:
    """What one run did: launches per kernel, copies, and host round trips (read-backs)."""

    launches: Counter = field(default_factory=Counter)  # kernel -> launches
    copies: int = 0
    copy_bytes: int = 0  # read and written by the copies
    round_trips: int = 0


def run_host_program(
    host: HostProgram,
    device: Device,
    loaded: LoadedProgram,
    inputs: Mapping[int, np.ndarray],
    outputs: Mapping[int, np.ndarray],
) -> RunCounts:
    """One inference: ``inputs`` (entry argument position -> array) written into their
    buffers, the epoch (if a persistent kernel waits on counters) set to the inference's
    number, every step run in order, then ``outputs`` (position -> array) filled in place.
    The error word, if the program has one, is zeroed before the steps and read after them:
    QuartetError naming the operator whose runtime check failed. Returns what the run did
    (how often a loop ran is known only now)."""
    storage = loaded.storage
    slots = host.argument_buffers
    word = None
    if host.errors is not None:
        word = new_word()
        device.write(storage[slots[host.errors.argument]], word)
    if host.epoch is not None:
        device.write(storage[host.epoch], loaded.next_epoch())
    for position, array in inputs.items():
        device.write(storage[slots[position]], array)
    sequencer = _Sequencer(host, device, storage)
    sequencer.run(host.steps)
    device.synchronize()
    for position, array in outputs.items():
        device.read(storage[slots[position]], array)
    if word is not None:
        device.read(storage[slots[host.errors.argument]], word)
        host.errors.raise_if_set(word)
    return sequencer.counts


class _Sequencer:
    """The steps of one run on one device, with the host's registers."""

    def __init__(self, host: HostProgram, device: Device, storage: list[Any]):
        self.host, self.device, self.storage = host, device, storage
        self.registers = [scalar.value for scalar in host.scalars]
        self.counts = RunCounts()

    def run(self, steps: tuple[Step, ...]) -> None:
        for step in steps:
            self.actions[type(step)](self, step)

    def launch(self, step: Launch) -> None:
        parameters: list[Any] = [self.buffer(index) for index in step.buffers]
        for position, register in sorted(step.scalars):
            parameters.insert(position, self.registers[register])
        self.device.launch(step, parameters)
        self.counts.launches[step.kernel] += 1

    def copy(self, step: Copy) -> None:
        self.device.copy(self.buffer(step.source), self.buffer(step.target))
        self.counts.copies += 1
        self.counts.copy_bytes += 2 * self.host.buffers[step.source].spec.nbytes

    def compute(self, step: Compute) -> None:
        operands = [self.registers[register] for register in step.operands]
        bits = self.host.scalars[step.operands[-1]].bits
        result_bits = self.host.scalars[step.result].bits
        self.registers[step.result] = scalars.evaluate(step.op, operands, bits, result_bits)

    def read(self, step: Read) -> None:
        spec = self.host.buffers[step.buffer].spec
        element = self.registers[step.offset]
        if element >= int(np.prod(spec.shape, dtype=np.int64)):
            raise QuartetError(
                f"error: the host program reads element {element} of buffer #{step.buffer} "
                f"({spec}), past its end"
            )
        self.device.synchronize()
        self.counts.round_trips += 1
        value = np.zeros((1,), spec.dtype)
        one = TensorSpec((1,), spec.dtype)
        place = self.device.view(self.buffer(step.buffer), one, element * spec.dtype.itemsize)
        self.device.read(place, value)
        bits = self.host.scalars[step.result].bits
        self.registers[step.result] = scalars.wrap(int(value[0]), bits)

    def assign(self, step: Assign) -> None:
        values = [self.registers[register] for register in step.sources]
        for register, value in zip(step.targets, values, strict=True):
            self.registers[register] = value

    def loop(self, step: Loop) -> None:
        bits = self.host.scalars[step.index].bits
        lower, upper, stride = (
            scalars.signed(self.registers[r], bits) for r in (step.lower, step.upper, step.step)
        )
        if stride <= 0:
            raise QuartetError(f"error: the host program runs a loop with step {stride}")
        for index in range(lower, upper, stride):
            self.registers[step.index] = scalars.wrap(index, bits)
            self.run(step.body)

    def repeat(self, step: While) -> None:
        self.run(step.before)
        while self.registers[step.condition]:
            self.run(step.body)
            self.run(step.before)

    def branch(self, step: If) -> None:
        self.run(step.then if self.registers[step.condition] else step.otherwise)

    def buffer(self, index: int) -> Any:
        """The storage of buffer ``index``; a view at a register's offset placed now (inside
        its base, else QuartetError)."""
        buffer = self.host.buffers[index]
        if buffer.offset is None:
            return self.storage[index]
        base = self.host.buffers[buffer.view_of]
        start = self.registers[buffer.offset] * buffer.spec.dtype.itemsize
        if start + buffer.spec.nbytes > base.spec.nbytes:
            raise QuartetError(
                f"error: the host program views bytes {start} to {start + buffer.spec.nbytes} "
                f"of buffer #{buffer.view_of} ({base.spec}), past its end"
            )
        return self.device.view(self.buffer(buffer.view_of), buffer.spec, start)

    actions = {
        Launch: launch,
        Copy: copy,
        Compute: compute,
        Read: read,
        Assign: assign,
        Loop: loop,
        While: repeat,
        If: branch,
    }
