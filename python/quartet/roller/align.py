"""rTile alignment rules: which tile extents a loop may take, and shared-memory padding.

- A loop that walks some operand's contiguous dimension gets tiles in multiples of the memory
  transaction (a 32-byte sector: 8 f32), so every global access of a tile row is whole sectors.
- Tensor-core contractions (two staged half-precision inputs) align m, n, k to the mma shape.
- Extents grow by doubling from the unit; a size is kept only if the padding it adds to the
  loop (ceil(E/T)*T - E) stays within ``MAX_WASTE`` of E. A loop smaller than its unit, or one
  no aligned size covers within the bound, may take its full extent (small/irregular shapes).
- Threads per block are a multiple of the warp size when the operator has that many points.
- Each staged input's shared buffer gets the innermost-dimension padding that minimises the bank
  conflicts of the register-tile reads of one warp (simulated on the bank layout), preferring
  pads that keep rows 16-byte aligned for vector stores.
"""

from __future__ import annotations

import math

from quartet.roller.config import Config
from quartet.roller.operator import Operator

MAX_WASTE = 0.25
"""Largest fraction of a loop's extent a tile may add as padding."""

VECTOR_BYTES = 16
"""A 128-bit vector access."""


def loop_units(op: Operator, sector_bytes: int, mma_shape: tuple[int, int, int] | None) -> list:
    """The alignment unit of each loop's block-tile extent."""
    units = [1] * len(op.extents)
    for access in op.accesses:
        sector = max(1, sector_bytes // access.element_bytes)
        for loop in access.innermost_loops:
            units[loop] = math.lcm(units[loop], sector)
    roles = op.contraction_roles
    if roles is not None and mma_shape is not None:
        for loop, size in zip(roles, mma_shape, strict=True):
            units[loop] = math.lcm(units[loop], size)
    return [min(unit, extent) for unit, extent in zip(units, op.extents, strict=True)]


def waste(extent: int, size: int) -> float:
    """Fraction of ``extent`` a tile of ``size`` pads: ceil(E/T)*T/E - 1."""
    return math.ceil(extent / size) * size / extent - 1


def aligned_sizes(extent: int, unit: int, max_waste: float = MAX_WASTE) -> list[int]:
    """Tile extents for a loop: unit * 2^j within the waste bound, then one covering size."""
    sizes = []
    size = unit
    while size < extent:
        if waste(extent, size) <= max_waste:
            sizes.append(size)
        size *= 2
    sizes.append(size if waste(extent, size) <= max_waste else extent)
    return sizes


def warp_aligned(op: Operator, config: Config, warp: int) -> bool:
    """Threads are a multiple of the warp, unless the operator is too small to fill one."""
    threads = config.threads(op)
    return threads % warp == 0 or threads >= math.prod(op.extents[loop] for loop in op.par_loops)


def bank_conflict_ways(
    op: Operator,
    config: Config,
    input_index: int,
    pad: int,
    banks: int = 32,
    bank_bytes: int = 4,
    warp: int = 32,
) -> int:
    """Worst number of distinct words one bank serves for one warp's register-tile read of
    staged input ``input_index`` (thread ``t`` at ``t_l`` along each parallel loop, reduction
    offsets 0), with ``pad`` elements added to the buffer's rows."""
    access = op.inputs[input_index]
    width = access.buffer_shape(config.block)[-1] + pad
    words_per_bank: dict[int, set[int]] = {}
    for row, column in _warp_positions(op, config, input_index, warp):
        word = (row * width + column) * access.element_bytes // bank_bytes
        words_per_bank.setdefault(word % banks, set()).add(word)
    return max(len(words) for words in words_per_bank.values())


def _warp_positions(op: Operator, config: Config, input_index: int, warp: int) -> list:
    """(row of the buffer, column in the row) each thread of the first warp reads."""
    key = ("warp", config.block, config.reg, input_index, warp)
    if key in op.memo:
        return op.memo[key]
    access = op.inputs[input_index]
    shape = access.buffer_shape(config.block)
    per_loop = config.threads_per_loop(op)
    extents = [per_loop[loop] for loop in op.par_loops]
    positions = []
    for thread in range(min(warp, math.prod(extents))):
        local = [0] * len(op.extents)
        for loop, coord in zip(op.par_loops, _delinearize(thread, extents), strict=True):
            local[loop] = coord
        indices = [sum(c * local[loop] for loop, c in form.coeffs) for form in access.forms]
        row = 0
        for index, size in zip(indices[:-1], shape[:-1], strict=True):
            row = row * size + index
        positions.append((row, indices[-1]))
    op.memo[key] = positions
    return positions


def smem_pads(op: Operator, config: Config, banks: int = 32, bank_bytes: int = 4) -> tuple:
    """Padding per input: fewest bank conflicts, then 16-byte-aligned rows, then smallest."""
    pads = [0] * len(op.inputs)
    for i in op.staged:
        vector = max(1, VECTOR_BYTES // op.inputs[i].element_bytes)
        options = sorted({0, 1, 2, vector})
        pads[i] = min(
            options,
            key=lambda pad, i=i, vector=vector: (
                bank_conflict_ways(op, config, i, pad, banks, bank_bytes),
                pad % vector != 0,
                pad,
            ),
        )
    return tuple(pads)


def _delinearize(linear: int, extents: list[int]) -> list[int]:
    """Row-major, last fastest: the thread order of quartet-lower-tiles."""
    coords = []
    for extent in reversed(extents):
        coords.append(linear % extent)
        linear //= extent
    return coords[::-1]
