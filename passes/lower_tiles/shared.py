"""Shared memory of one kernel: every buffer, its lifetime over the phases, and a best-fit
placement in one block-wide allocation.

A kernel's shared buffers are

- the staging buffers of each reduction phase (one per staged input, two halves when the
  stages are double-buffered), alive during that phase only;
- the region buffer of each result kept on chip (a member read at "smem"), alive from the
  phase that writes it (an epilogue's: its anchor's) to the last phase that reads it (an
  inline reader is read where it is evaluated: in its own readers' phases).

Buffers whose lifetimes do not overlap may share bytes. Offline best fit: the buffers, largest
first, each go to the smallest gap, among the buffers already placed whose lifetimes overlap
its own, that holds it (else after all of them); every offset is 32-byte aligned, and so is the
allocation's size (see ``place``). The phases
run one after another with a barrier between them (``quartet-lower-tiles``), so a buffer's
bytes are reused only after every thread is done with their previous owner. The model's
capacity check and the lowering read the same placement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlir import ir
from mlir.dialects import memref

from quartet.passes import builder as b
from quartet.passes.lower_tiles.plan import EPILOGUE, PHASE, KernelPlan, Member

ALIGNMENT = 32
"""Bytes every buffer's offset is a multiple of: the widest access a thread makes to shared
memory is a 16-byte vector, and 32 keeps buffers on whole bank rows of 8 words
(CUDA C++ Programming Guide, "Shared Memory": 32 banks of 4 bytes)."""


@dataclass(frozen=True)
class Buffer:
    """One shared buffer: ("stage", member, input) or ("result", member), its shape and
    element type, and the first and last phase (index in the kernel's phase order) using it."""

    key: tuple
    shape: tuple[int, ...]
    element: ir.Type
    first: int
    last: int

    @property
    def bytes(self) -> int:
        width = getattr(self.element, "width", 8)
        return math.prod(self.shape) * max(1, width // 8)


@dataclass(frozen=True)
class Layout:
    """Each buffer's byte offset in the kernel's one shared allocation, and its size."""

    buffers: tuple[Buffer, ...]
    offsets: dict
    total: int

    def buffer(self, key: tuple) -> Buffer:
        return next(buffer for buffer in self.buffers if buffer.key == key)


def stage_shape(member: Member, i: int) -> tuple[int, ...]:
    """The staging buffer of input ``i`` of ``member``: one stage's footprint, the innermost
    dimension padded, behind two halves when double-buffered."""
    shape = [form.span(member.block_tile) for form in member.space.forms[i]]
    pads = member.program.smem_pad
    shape[-1] += pads[i] if pads else 0
    return tuple([2, *shape] if member.plan.double_buffer else shape)


def layout(kernel: KernelPlan) -> Layout:
    """The best-fit placement of ``kernel``'s shared buffers."""
    return place(_buffers(kernel))


def place(buffers: list[Buffer]) -> Layout:
    """``buffers`` placed best fit over their lifetimes, largest first, in an allocation whose
    size is rounded up to ``ALIGNMENT``: LLVM's NVPTX load-store vectorizer widens a chain of
    loads whose start it knows to be 16-byte aligned to a whole aligned vector (a ragged row of
    3 floats becomes one ``ld.shared.v4``, the fourth lane unused), so every aligned 16 bytes
    holding a byte of a buffer must lie inside the allocation."""
    buffers = sorted(buffers, key=lambda buffer: -buffer.bytes)
    offsets: dict[tuple, int] = {}
    placed: list[Buffer] = []
    for buffer in buffers:
        taken = sorted(
            (offsets[other.key], offsets[other.key] + other.bytes)
            for other in placed
            if other.first <= buffer.last and buffer.first <= other.last
        )
        offsets[buffer.key] = _best_gap(taken, buffer.bytes)
        placed.append(buffer)
    total = max((offsets[b.key] + b.bytes for b in buffers), default=0)
    return Layout(tuple(buffers), offsets, _aligned(total))


def _best_gap(taken: list[tuple[int, int]], size: int) -> int:
    """The aligned offset of the smallest gap between the ``taken`` byte ranges that holds
    ``size`` bytes, else the first aligned offset past all of them."""
    best, best_room = None, None
    cursor = 0
    for start, end in [*taken, (math.inf, math.inf)]:
        offset = _aligned(cursor)
        room = start - offset
        if room >= size and (best_room is None or room < best_room):
            best, best_room = offset, room
        cursor = max(cursor, end)
    return best


def _aligned(offset: int) -> int:
    return -(-offset // ALIGNMENT) * ALIGNMENT


def _buffers(kernel: KernelPlan) -> list[Buffer]:
    phase_of = {phase: index for index, phase in enumerate(kernel.phases)}
    evaluated = _evaluated_in(kernel, phase_of)
    found = []
    for phase, index in phase_of.items():
        if phase.red_loops:
            for i in phase.plan.staged:
                element = ir.ShapedType(phase.inputs[i].type).element_type
                found.append(
                    Buffer(("stage", phase, i), stage_shape(phase, i), element, index, index)
                )
    for member in kernel.members:
        if not member.shared_output:
            continue
        readers = [
            reader
            for reader in kernel.members
            for operand, producer in reader.producers.items()
            if producer is member and reader.levels[operand] == "smem"
        ]
        first = min(evaluated[member])
        last = max(index for reader in readers for index in evaluated[reader])
        element = ir.ShapedType(member.outputs[0].type).element_type
        shape = tuple(member.region_shape())
        found.append(Buffer(("result", member), shape, element, first, max(first, last)))
    return found


def _evaluated_in(kernel: KernelPlan, phase_of: dict[Member, int]) -> dict[Member, set[int]]:
    """The phases in which each member's body runs: a phase its own, an epilogue its
    anchor's, an inline member wherever its readers run."""
    readers: dict[Member, list[Member]] = {member: [] for member in kernel.members}
    for member in kernel.members:
        for producer in member.producers.values():
            readers[producer].append(member)
    found: dict[Member, set[int]] = {}

    def phases(member: Member) -> set[int]:
        if member not in found:
            if member.role == PHASE:
                found[member] = {phase_of[member]}
            elif member.role == EPILOGUE:
                found[member] = {phase_of[member.anchor]}
            else:  # inline
                found[member] = set().union(*(phases(r) for r in readers[member])) or {0}
        return found[member]

    for member in kernel.members:
        phases(member)
    return found


class SharedMemory:
    """A kernel's one shared allocation, and each buffer as a typed view into it (built in
    the block, before its phases)."""

    def __init__(self, placement: Layout, space: str):
        self.placement, self.space = placement, space
        self.base = None
        if placement.total:
            i8 = ir.IntegerType.get_signless(8)
            base_type = ir.MemRefType.get([placement.total], i8, memory_space=_space(space))
            self.base = memref.alloca(base_type, [], [], alignment=ALIGNMENT)
        self._views: dict[tuple, ir.Value] = {}
        for buffer in placement.buffers:  # here, so every phase's region sees them
            view_type = ir.MemRefType.get(
                list(buffer.shape), buffer.element, memory_space=_space(space)
            )
            offset = b.const_index(placement.offsets[buffer.key])
            self._views[buffer.key] = memref.view(view_type, self.base, offset, [])

    def view(self, key: tuple) -> ir.Value:
        return self._views[key]

    def stage(self, member: Member, i: int) -> ir.Value:
        return self.view(("stage", member, i))

    def matrix(self, member: Member, i: int) -> ir.Value:
        """The staging buffer of input ``i`` as a 2-D view at the insertion point, its leading
        dimensions (one element each: a batched contraction's batch) dropped."""
        key = ("stage", member, i)
        buffer = self.placement.buffer(key)
        if len(buffer.shape) == 2:
            return self.view(key)
        if any(extent != 1 for extent in buffer.shape[:-2]):
            raise ValueError(f"staging buffer {list(buffer.shape)} is not a batch of one matrix")
        view_type = ir.MemRefType.get(
            list(buffer.shape[-2:]), buffer.element, memory_space=_space(self.space)
        )
        return memref.view(view_type, self.base, b.const_index(self.placement.offsets[key]), [])

    def result(self, member: Member) -> ir.Value:
        return self.view(("result", member))


def _space(space: str) -> ir.Attribute:
    return ir.Attribute.parse(space)
