"""test-roller-reuse: annotate each tiled linalg.generic with Roller's traffic and reuse scores.

Test-only; exposes the data-reuse step of ``quartet-roller``. For an op carrying a
``tile.program`` it adds ``roller.global_bytes`` and ``roller.smem_bytes`` (traffic between
global memory and the block, and between shared memory and registers, over the whole operator),
``roller.block_scores`` (per loop: global bytes saved per extra on-chip byte when the block tile
grows to the loop's next aligned size; 0 where it has none) and ``roller.reg_scores`` (the same
for the register tile's next extent, shared-memory bytes per register byte; 0 for reduction
loops).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.dialects.tile import RProgram
from quartet.hardware import spec_for
from quartet.passes.base import ModulePass, PassError, option
from quartet.passes.roller import generics
from quartet.roller import Config, describe
from quartet.roller.construct import Target, loop_sizes, reg_extents
from quartet.roller.reuse import (
    block_reuse_score,
    global_traffic,
    reg_reuse_score,
    smem_traffic,
)


@dataclass(frozen=True)
class TestRollerReuse(ModulePass):
    """Annotate tiled linalg.generic ops with Roller's traffic per level and reuse scores."""

    name = "test-roller-reuse"
    arch: str = option("sm_90", "target machine whose alignment gives the next tile sizes")

    def apply(self, module: ir.Operation) -> None:
        try:
            target = Target.of(spec_for(self.arch))
        except ValueError as error:
            raise PassError(f"option 'arch': {error}") from None
        for generic in generics(module):
            if "tile.program" not in generic.attributes:
                continue
            op = describe(generic.opview)
            program = RProgram.from_attr(generic.attributes["tile.program"])
            config = Config.from_rprogram(program)
            block, reg = config.block, config.reg
            sizes = loop_sizes(op, target)
            block_scores, reg_scores = [], []
            for loop in range(len(block)):
                grown = _next(sizes[loop], block[loop])
                block_scores.append(
                    block_reuse_score(op, block, _with(block, loop, grown)) if grown else 0.0
                )
                grown = _next(reg_extents(sizes[loop]), reg[loop]) if op.parallel[loop] else None
                reg_scores.append(
                    reg_reuse_score(op, reg, _with(reg, loop, grown)) if grown else 0.0
                )
            attrs = generic.attributes
            attrs["roller.global_bytes"] = _i64(global_traffic(op, block))
            attrs["roller.smem_bytes"] = _i64(smem_traffic(op, reg))
            attrs["roller.block_scores"] = ir.DenseF64ArrayAttr.get(block_scores)
            attrs["roller.reg_scores"] = ir.DenseF64ArrayAttr.get(reg_scores)


def _next(sizes: list[int], current: int) -> int | None:
    return next((size for size in sizes if size > current), None)


def _with(tile: tuple[int, ...], loop: int, size: int) -> tuple[int, ...]:
    return tile[:loop] + (size,) + tile[loop + 1 :]


def _i64(value: float) -> ir.Attribute:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), round(value))
