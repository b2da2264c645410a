"""Staging: every thread of the block copies a reduction stage of an input into shared memory.

A staged input's footprint over one stage (the block tile through its indexing map) goes to a
padded shared buffer (16-byte aligned when it is a whole number of 16-byte granules: LLVM
widens loads up to the known alignment, and would otherwise read past its end), two of them
when the phase is double-buffered. Rows move as 128-bit vectors where alignment allows
(``ld.global.v4`` on the GPU). Elements outside the operand, and the padding columns, are
written as zero: the padding is never used, but vectorized reads may touch it, and no shared
byte is ever read before it is written. An input the kernel keeps on chip (a producer's shared
buffer, or an inline producer) is copied element by element from there.
"""

from __future__ import annotations

import math

from mlir import ir
from mlir.dialects import memref, vector

from quartet.passes import builder as b
from quartet.passes.lower_tiles.plan import KernelPlan, Member
from quartet.passes.lower_tiles.shared import stage_shape
from quartet.passes.lower_tiles.sources import Reader, evaluate

WORKGROUP = "#gpu.address_space<workgroup>"
PRIVATE = "#gpu.address_space<private>"


def memref_type(shape: list[int], element_type: ir.Type, space: str) -> ir.MemRefType:
    return ir.MemRefType.get(shape, element_type, memory_space=ir.Attribute.parse(space))


def element_bytes(element_type: ir.Type) -> int:
    """Bytes of a float or integer element; 0 for anything narrower than a byte (i1)."""
    return element_type.width // 8 if hasattr(element_type, "width") else 0


class Stager:
    """The staging buffers of one phase and the cooperative copies into them."""

    def __init__(self, kernel: KernelPlan, member: Member, reader: Reader, threads: int):
        self.kernel, self.member, self.reader, self.threads = kernel, member, reader, threads
        self.buffers = {i: reader.memory.stage(member, i) for i in member.plan.staged}

    def index(self, half: ir.Value | None, local: list[ir.Value]) -> list[ir.Value]:
        """Shared-buffer indices, behind the buffer half when the stages are double-buffered."""
        return local if half is None else [half, *local]

    def load(self, i: int, local: dict[int, ir.Value], half: ir.Value | None) -> ir.Value:
        """Input ``i`` at stage-local loop indices ``local`` (from its staging buffer)."""
        position = [evaluate(form, local, constant=False) for form in self.member.space.forms[i]]
        return memref.load(self.buffers[i], self.index(half, position))

    def copy(self, i: int, thread: ir.Value, origin: dict[int, ir.Value], half=None) -> None:
        """All threads copy input ``i``'s stage at tile origin ``origin`` (one index per loop:
        the region origin along parallel loops, the stage along reduction loops)."""
        member = self.member
        touched, padded = footprint(member, i), padded_footprint(member, i)
        operand = ir.MemRefType(member.inputs[i].type)
        width = vector_width(self.kernel, member, i)
        chunks = [*padded[:-1], padded[-1] // width]
        with b.for_loop(thread, math.prod(chunks), self.threads) as element:
            local = b.delinearize(element, chunks)
            local[-1] = b.mul(local[-1], width)
            position, checks = [], []
            for form, offset, size, span in zip(
                member.space.forms[i], local, operand.shape, touched, strict=True
            ):
                position.append(b.add(evaluate(form, origin), offset))
                if self.kernel.max_start(member, form) + span > size or (
                    self.kernel.min_start(member, form) < 0
                ):  # unsigned: a position before the start fails the check too
                    checks.append((position[-1], size))
            if padded[-1] != touched[-1]:
                checks.append((local[-1], touched[-1]))
            inside = b.all_less_than(checks)
            value_type = operand.element_type
            if width > 1:
                value_type = ir.VectorType.get([width], operand.element_type)
            value = b.select_or(
                inside,
                lambda: self._read(i, position, value_type),
                b.zero_of(value_type),
                value_type,
            )
            self._write(value, self.buffers[i], self.index(half, local))

    def _read(self, i: int, position: list[ir.Value], value_type: ir.Type) -> ir.Value:
        if not isinstance(value_type, ir.VectorType):
            return self.reader.at(self.member, i, position)
        alignment = value_type.shape[0] * element_bytes(value_type.element_type)
        return vector.load(value_type, self.member.inputs[i], position, alignment=alignment)

    @staticmethod
    def _write(value: ir.Value, buffer: ir.Value, index: list[ir.Value]) -> None:
        if not isinstance(value.type, ir.VectorType):
            memref.store(value, buffer, index)
            return
        alignment = value.type.shape[0] * element_bytes(value.type.element_type)
        vector.store(value, buffer, index, alignment=alignment)


def footprint(member: Member, i: int) -> list[int]:
    """The extent of input ``i`` one stage touches, per dimension."""
    return [form.span(member.block_tile) for form in member.space.forms[i]]


def padded_footprint(member: Member, i: int) -> list[int]:
    """The shared buffer of input ``i`` (one half of it when double-buffered): its footprint,
    innermost dim padded."""
    shape = stage_shape(member, i)
    return list(shape[1:] if member.plan.double_buffer else shape)


def vector_width(kernel: KernelPlan, member: Member, i: int) -> int:
    """Elements per 128-bit copy of input ``i``'s rows, or 1 when alignment forbids it.

    Needs an input read from global memory, a contiguous innermost dimension (indexed by one
    loop), rows and tile origins that start on a 16-byte boundary, and shared rows whose
    padded length keeps it.
    """
    if i in member.producers and member.levels[i] != "global":
        return 1
    operand = ir.MemRefType(member.inputs[i].type)
    forms = member.space.forms[i]
    if not forms or not element_bytes(operand.element_type):
        return 1
    width = 16 // element_bytes(operand.element_type)
    loop = forms[-1].single_loop()
    if loop is None or width < 2:
        return 1
    aligned = [
        operand.shape[-1],
        member.block_tile[loop],
        footprint(member, i)[-1],
        padded_footprint(member, i)[-1],
    ]
    if loop in member.origin and _origin_step(kernel, member, loop) % width:
        return 1
    return 1 if any(extent % width for extent in aligned) else width


def _origin_step(kernel: KernelPlan, member: Member, loop: int) -> int:
    """The granularity of the region origin along ``loop`` (a gcd of its terms)."""
    form = member.origin[loop]
    sizes = kernel.tile_sizes
    return math.gcd(form.constant, *(coeff * sizes[p] for p, coeff in form.coeffs))
