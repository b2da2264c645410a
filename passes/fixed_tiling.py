"""quartet-fixed-tiling: attach one fixed, reasonable rProgram to every linalg.generic.

An operator that already carries a ``tile.program`` keeps it and gets the plan it implies.

The foundation's tiling, before Roller constructs tiles per operator (``quartet-roller``). It
reads only the iteration space (extents and iterator types), so it serves every linalg op:

- operators with a reduction (matmul, conv, reductions): each thread computes a
  ``reg-tile`` x ``reg-tile`` register tile on the two innermost parallel loops, a
  ``threads``-thread block a shared-memory tile of (reg-tile * sqrt(threads))^2 points, staged
  over ``reduction-tile`` steps of the innermost reduction loop;
- pointwise operators: each thread ``reg-tile`` consecutive-in-stride points of the innermost
  loop, threads spread from the innermost loop outwards.

Small extents shrink the thread count along that loop (a 10-wide loop does not get 64 points).

    linalg.generic {iterator_types = ["parallel", "parallel", "reduction"]} ...
  becomes
    linalg.generic {..., tile.program = #tile.rprogram<[#tile.rtile<"smem",
        array<i64: 64, 64, 16>>, #tile.rtile<"reg", array<i64: 4, 4, 1>>], array<i64: 4, 4>>,
        tile.plan = #tile.plan<array<i64: 16, 16, 1>, array<i64: 0, 1>, true, array<i64>>}

with the lowering plan of ``quartet.roller.plan`` (staged inputs, double buffering, tensor
cores) that quartet-lower-tiles builds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlir import ir

from quartet.dialects.tile import PLAN, PROGRAM, RProgram, RTile
from quartet.passes.base import ModulePass, PassError, option
from quartet.passes.iteration_space import IterationSpace, generics
from quartet.roller import Config, describe
from quartet.roller.plan import plan_attributes

MMA_SHAPE = (16, 8, 16)  # the shape quartet-lower-tiles emits (tile.mma, PTX mma.sync m16n8k16)


@dataclass(frozen=True)
class FixedTiling(ModulePass):
    """Attach a fixed shared-memory/register tiling (an rProgram) to every linalg.generic."""

    name = "quartet-fixed-tiling"
    threads: int = option(256, "threads per block (a power of two)")
    reg_tile: int = option(4, "register-tile extent per thread along tiled parallel loops")
    reduction_tile: int = option(16, "shared-memory stage along the innermost reduction loop")
    smem_pad: int = option(4, "shared-memory padding (elements) of each staged input's rows")
    double_buffer: bool = option(
        True, "two shared buffers per staged input, so stage k+1 loads while stage k computes"
    )
    tensor_cores: bool = option(
        True, "f16/bf16 contractions with f32 accumulation as m16n8k16 tensor-core steps"
    )

    def apply(self, module: ir.Operation) -> None:
        for name, value in (("threads", self.threads), ("reg-tile", self.reg_tile)):
            if value < 1 or value & (value - 1):
                raise PassError(f"option '{name}' must be a power of two, got {value}")
        if self.reduction_tile < 1 or self.smem_pad < 0:
            raise PassError("options 'reduction-tile' >= 1 and 'smem-pad' >= 0 are required")
        mma_shape = MMA_SHAPE if self.tensor_cores else None
        for op in generics(module):
            if PLAN in op.attributes:
                continue
            program = (
                RProgram.from_attr(op.attributes[PROGRAM])
                if PROGRAM in op.attributes
                else self.rprogram(op.opview)
            )
            attributes = plan_attributes(
                describe(op.opview), Config.from_rprogram(program), mma_shape, self.double_buffer
            )
            for name, value in attributes.items():
                op.attributes[name] = value

    def rprogram(self, op) -> RProgram:
        """The fixed rProgram for one generic, from its loop extents and iterator types."""
        space = IterationSpace.of(op)
        extents, par_loops, red_loops = space.extents, space.par_loops, space.red_loops
        reg = [1] * len(extents)
        threads = [1] * len(extents)
        if red_loops:
            per_side = 1 << (int(math.log2(self.threads)) // 2)
            for loop in par_loops[-2:]:
                reg[loop], threads[loop] = self._fit(extents[loop], self.reg_tile, per_side)
        else:
            left = self.threads
            for position, loop in enumerate(reversed(par_loops)):
                wanted_reg = self.reg_tile if position == 0 else 1
                reg[loop], threads[loop] = self._fit(extents[loop], wanted_reg, left)
                left //= threads[loop]
        block = [r * t for r, t in zip(reg, threads, strict=True)]
        if red_loops:
            block[red_loops[-1]] = min(self.reduction_tile, extents[red_loops[-1]])
        pads = [self.smem_pad if red_loops else 0 for _ in op.inputs]
        return RProgram((RTile("smem", tuple(block)), RTile("reg", tuple(reg))), tuple(pads))

    @staticmethod
    def _fit(extent: int, reg: int, threads: int) -> tuple[int, int]:
        """Shrink (register tile, threads) along one loop until one block barely covers it."""
        while threads > 1 and reg * threads // 2 >= extent:
            threads //= 2
        while reg > 1 and reg * threads // 2 >= extent:
            reg //= 2
        return reg, threads
