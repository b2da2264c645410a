"""Memory traffic per level and Roller's data-reuse score, from the indexing maps alone.

For a block tile ``T`` the grid has ``prod(ceil(E/T))`` blocks over the parallel loops and each
runs ``prod(ceil(E/T))`` stages over the reduction loops. A staged input is loaded once per
stage (its footprint under ``T``), any other input once per block, outputs read and written
once per block. Between shared memory and registers, each thread loads, for every reduction
point, the footprint of its register tile in each staged input.

The reuse score of growing a tile along one loop is S = (traffic saved) / (extra footprint):
bytes no longer moved per byte of extra capacity spent (Roller, OSDI'22, section 3.2).
"""

from __future__ import annotations

import math

from quartet.roller.config import Config, register_words
from quartet.roller.operator import Operator


def global_traffic(op: Operator, block: tuple[int, ...]) -> float:
    """Bytes moved between global memory and the block level over the whole operator."""
    key = ("global", block)
    if key not in op.memo:
        op.memo[key] = _global_traffic(op, block)
    return op.memo[key]


def _global_traffic(op: Operator, block: tuple[int, ...]) -> float:
    blocks = math.prod(math.ceil(op.extents[loop] / block[loop]) for loop in op.par_loops)
    steps = math.prod(math.ceil(op.extents[loop] / block[loop]) for loop in op.red_loops)
    staged = set(op.staged)
    total = 0.0
    for i, access in enumerate(op.inputs):
        if access is None:
            continue
        loads = blocks * steps if i in staged else blocks
        total += access.footprint(block) * access.element_bytes * loads
    for access in op.outputs:
        total += 2 * access.footprint(block) * access.element_bytes * blocks
    return total


def smem_traffic(op: Operator, reg: tuple[int, ...]) -> float:
    """Bytes threads load from shared memory into registers over the whole operator."""
    key = ("smem traffic", reg)
    if key not in op.memo:
        op.memo[key] = _smem_traffic(op, reg)
    return op.memo[key]


def _smem_traffic(op: Operator, reg: tuple[int, ...]) -> float:
    points = math.prod(reg[loop] for loop in op.par_loops)
    step_tile = tuple(1 if loop in op.red_loops else reg[loop] for loop in range(len(reg)))
    per_point = sum(
        op.inputs[i].footprint(step_tile) * op.inputs[i].element_bytes for i in op.staged
    )
    return per_point / points * op.points


def block_footprint(op: Operator, block: tuple[int, ...]) -> int:
    """Bytes a block holds on chip: staged input tiles plus its output tile."""
    staged = sum(op.inputs[i].footprint(block) * op.inputs[i].element_bytes for i in op.staged)
    outputs = sum(a.footprint(block) * a.element_bytes for a in op.outputs)
    return staged + outputs


def block_reuse_score(op: Operator, block: tuple[int, ...], grown: tuple[int, ...]) -> float:
    """S for growing the block tile ``block`` to ``grown``: global bytes saved per on-chip byte."""
    extra = block_footprint(op, grown) - block_footprint(op, block)
    saved = global_traffic(op, block) - global_traffic(op, grown)
    return saved / extra if extra > 0 else 0.0


def reg_reuse_score(op: Operator, reg: tuple[int, ...], grown: tuple[int, ...]) -> float:
    """S for growing the register tile ``reg`` to ``grown``: shared-memory bytes saved per
    extra register byte."""
    extra = 4 * (register_words(op, grown) - register_words(op, reg))
    saved = smem_traffic(op, reg) - smem_traffic(op, grown)
    return saved / extra if extra > 0 else 0.0


def config_traffic(op: Operator, config: Config) -> tuple[float, float]:
    """(global bytes, shared-memory bytes) a config moves."""
    return global_traffic(op, config.block), smem_traffic(op, config.reg)
