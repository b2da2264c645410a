"""test-roller-reuse: annotate each tiled linalg.generic with Roller's traffic and reuse scores.

Test-only; exposes the data-reuse step of ``quartet-roller``. For an op carrying a
``tile.program`` it adds ``roller.global_bytes`` and ``roller.smem_bytes`` (traffic between
global memory and the block, and between shared memory and registers, over the whole operator),
``roller.block_scores`` (per loop: global bytes saved per extra on-chip byte when the block tile
doubles along that loop; 0 for loops it cannot grow along) and ``roller.reg_scores`` (the same for
the register tile, shared-memory bytes per register byte; 0 for reduction loops).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.dialects.tile import RProgram
from quartet.passes.base import ModulePass
from quartet.passes.roller import generics
from quartet.roller import Config, describe
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

    def apply(self, module: ir.Operation) -> None:
        for generic in generics(module):
            if "tile.program" not in generic.attributes:
                continue
            op = describe(generic.opview)
            program = RProgram.from_attr(generic.attributes["tile.program"])
            config = Config.from_rprogram(program)
            block, reg = config.block, config.reg
            block_scores = [
                block_reuse_score(op, block, _doubled(block, loop)) for loop in range(len(block))
            ]
            reg_scores = [
                reg_reuse_score(op, reg, _doubled(reg, loop)) if op.parallel[loop] else 0.0
                for loop in range(len(reg))
            ]
            attrs = generic.attributes
            attrs["roller.global_bytes"] = _i64(global_traffic(op, block))
            attrs["roller.smem_bytes"] = _i64(smem_traffic(op, reg))
            attrs["roller.block_scores"] = ir.DenseF64ArrayAttr.get(block_scores)
            attrs["roller.reg_scores"] = ir.DenseF64ArrayAttr.get(reg_scores)


def _doubled(tile: tuple[int, ...], loop: int) -> tuple[int, ...]:
    return tile[:loop] + (tile[loop] * 2,) + tile[loop + 1 :]


def _i64(value: float) -> ir.Attribute:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), round(value))
