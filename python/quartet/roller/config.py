"""A candidate rProgram: the block (shared-memory) tile, the per-thread register tile, pads.

``block`` has one extent per loop: what one thread block covers per stage (for reduction loops,
the stage depth staged in shared memory). ``reg`` is what one thread covers (1 along reduction
loops); threads per block = prod(block / reg) over the parallel loops. ``pads`` is the padding
added to the innermost dimension of each input's shared buffer (0 for inputs not staged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from quartet.dialects.tile import RProgram, RTile
from quartet.roller.operator import Operator


@dataclass(frozen=True)
class Config:
    block: tuple[int, ...]
    reg: tuple[int, ...]
    pads: tuple[int, ...] = ()

    def threads_per_loop(self, op: Operator) -> dict[int, int]:
        return {loop: self.block[loop] // self.reg[loop] for loop in op.par_loops}

    def threads(self, op: Operator) -> int:
        return math.prod(self.block[loop] // self.reg[loop] for loop in op.par_loops)

    def points(self, op: Operator) -> int:
        """Register-tile points per thread."""
        return math.prod(self.reg[loop] for loop in op.par_loops)

    def blocks(self, op: Operator) -> int:
        return math.prod(math.ceil(op.extents[loop] / self.block[loop]) for loop in op.par_loops)

    def steps(self, op: Operator) -> int:
        """Reduction stages each block runs."""
        return math.prod(math.ceil(op.extents[loop] / self.block[loop]) for loop in op.red_loops)

    def with_pads(self, pads: tuple[int, ...]) -> Config:
        return Config(self.block, self.reg, pads)

    def to_rprogram(self) -> RProgram:
        return RProgram((RTile("smem", self.block), RTile("reg", self.reg)), self.pads)

    @classmethod
    def from_rprogram(cls, program: RProgram) -> Config:
        return cls(program.tile("smem").shape, program.tile("reg").shape, program.smem_pad)


def register_words(op: Operator, reg: tuple[int, ...]) -> int:
    """32-bit registers one thread needs for its tile: accumulators plus the operands of one
    reduction step (or, pointwise, every operand of every point), plus addressing."""
    key = ("regs", reg)
    if key not in op.memo:
        op.memo[key] = _register_words(op, reg)
    return op.memo[key]


def _register_words(op: Operator, reg: tuple[int, ...]) -> int:
    points = math.prod(reg[loop] for loop in op.par_loops)
    words = lambda access: max(1, access.element_bytes // 4)  # noqa: E731
    accumulators = sum(points * words(out) for out in op.outputs)
    step_tile = tuple(1 if loop in op.red_loops else reg[loop] for loop in range(len(reg)))
    operands = sum(
        op.inputs[i].footprint(step_tile) * words(op.inputs[i])
        for i in range(len(op.inputs))
        if op.inputs[i] is not None
    )
    return accumulators + operands + ADDRESSING_REGISTERS


ADDRESSING_REGISTERS = 24
"""Registers for indices, pointers and loop counters (a typical ptxas figure for these kernels)."""
