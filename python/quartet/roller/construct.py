"""Roller's construction: rTiles grown by data reuse, per memory level, then ranked by the model.

1. **Register level** (what one thread computes): start from one point and double the loop
   with the best reuse score (shared-memory bytes saved per register spent) until the register
   budget; every tile on the way, and each one-step alternative to it, is a candidate.
2. **Block level** (what one thread block stages in shared memory), for each register tile:
   start from one thread and the shallowest aligned stage, and step along the loop with the best
   reuse score (global bytes saved per on-chip byte) through the aligned sizes, until shared
   memory, the thread limit or the register file is full, or the tile is compute-bound
   (arithmetic intensity past the machine's FLOP/byte ridge) with whole warps of threads.
   Every tile on the way with whole warps is a candidate, with deeper reduction stages beside
   it.
3. **Scale-out and ranking**: the grid copies the tile over the SMs; the micro performance model
   (waves, occupancy, traffic per level) ranks all candidates; the top-k are returned with their
   bank-conflict padding.

``enumerate_space`` lists every config of the same aligned space (the benchmark's baseline).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product

from quartet.hardware import CpuSpec, GpuSpec
from quartet.roller.align import VECTOR_BYTES, aligned_sizes, loop_units, smem_pads, warp_aligned
from quartet.roller.config import Config, register_words
from quartet.roller.model import Estimate, estimate, occupancy
from quartet.roller.operator import Operator
from quartet.roller.plan import smem_bytes
from quartet.roller.reuse import block_reuse_score, global_traffic, reg_reuse_score, smem_traffic

MAX_POINTS = 64
"""Register-tile points per thread (the lowering unrolls them all)."""

MAX_REG_EXTENT = 16
"""Largest register-tile extent along one loop."""

BLOCK_BEAM = 3
"""Block tiles kept per growth step: the best reuse scores (a beam, not a single path)."""

GPU_REGISTER_BUDGET = 128
"""Registers per thread Roller plans for: half of the 255 limit, so ptxas never spills."""


CPU_VECTOR_BYTES = 32
"""On the CPU the thread loop is what LLVM vectorizes: eight f32 lanes of neighbouring threads
play the part of a GPU sector."""

CPU_INTERLEAVE = 4
"""LLVM's loop vectorizer runs the thread loop SIMD-lanes wide, interleaved 4 times; a block with
fewer threads than that never enters the vector loop (measured: 32-thread blocks run about 2x
slower than 64-thread ones with the same register tile on AVX-512). So a CPU "warp" is
lanes x 4 threads."""


@dataclass(frozen=True)
class Target:
    """What construction needs of a machine."""

    spec: GpuSpec | CpuSpec
    warp: int
    max_threads: int
    smem_capacity: int  # bytes one block may stage
    register_budget: int  # 32-bit words per thread
    sector_bytes: int
    mma_shape: tuple[int, int, int] | None
    ridge: float  # FLOP per global byte at which a tile is compute-bound

    @classmethod
    def of(cls, spec: GpuSpec | CpuSpec) -> Target:
        if isinstance(spec, CpuSpec):
            lanes = spec.simd_lanes(4)
            return cls(
                spec=spec,
                warp=CPU_INTERLEAVE * lanes,
                max_threads=4096,
                smem_capacity=spec.l2_bytes // 2,
                register_budget=min(GPU_REGISTER_BUDGET, spec.vector_registers * lanes // 2),
                sector_bytes=CPU_VECTOR_BYTES,
                mma_shape=None,
                ridge=math.inf,
            )
        return cls(
            spec=spec,
            warp=spec.warp_size,
            max_threads=spec.max_threads_per_block,
            smem_capacity=spec.static_smem_per_block,  # the lowering allocates statically
            register_budget=GPU_REGISTER_BUDGET,
            sector_bytes=spec.sector_bytes,
            mma_shape=spec.mma_shape,
            ridge=spec.fp32_flops / spec.l2_bandwidth,
        )


@dataclass(frozen=True)
class Ranked:
    config: Config
    estimate: Estimate


def construct(op: Operator, spec: GpuSpec | CpuSpec, topk: int = 8) -> list[Ranked]:
    """The top-k configs Roller builds for ``op`` on ``spec``, best first."""
    target = Target.of(spec)
    sizes = loop_sizes(op, target)
    configs: set[Config] = set()
    for reg in dict.fromkeys(scale_up_registers(op, target)):
        configs.update(scale_up_block(op, target, reg, sizes))
    return rank(op, target, configs, topk)


def loop_sizes(op: Operator, target: Target) -> list[list[int]]:
    units = loop_units(op, target.sector_bytes, target.mma_shape)
    return [aligned_sizes(e, u) for e, u in zip(op.extents, units, strict=True)]


def rank(op: Operator, target: Target, configs, topk: int) -> list[Ranked]:
    scored = []
    for config in configs:
        est = estimate(op, config, target.spec)
        if est.feasible:
            scored.append((_rank_key(op, config, est), config, est))
    scored.sort(key=lambda item: item[0])
    return [
        Ranked(config.with_pads(_pads(op, config, target)), est) for _, config, est in scored[:topk]
    ]


def _rank_key(op: Operator, config: Config, est: Estimate) -> tuple:
    """Model time first; ties (e.g. pointwise ops, where every tile moves the same bytes) go
    to 128-bit register tiles and then to larger blocks."""
    vector = abs(math.log2(config.points(op) * op.element_bytes / 16))
    return (round(est.seconds, 12), vector, -config.threads(op), config.block, config.reg)


def _pads(op: Operator, config: Config, target: Target) -> tuple[int, ...]:
    if isinstance(target.spec, CpuSpec):
        return (0,) * len(op.inputs)
    return smem_pads(op, config, target.spec.smem_banks, target.spec.smem_bank_bytes)


# -- Level 1: registers ---------------------------------------------------------------------


def reg_extents(sizes: list[int]) -> list[int]:
    """Register-tile extents along a parallel loop: powers of two up to ``MAX_REG_EXTENT``
    dividing one of the loop's block sizes, and block sizes that small themselves (7, 3)."""
    powers = [1 << j for j in range(MAX_REG_EXTENT.bit_length())]
    extents = {p for p in powers for size in sizes if size % p == 0}
    extents.update(size for size in sizes if size <= MAX_REG_EXTENT)
    return sorted(extents)


def reg_fits(op: Operator, target: Target, reg: tuple[int, ...]) -> bool:
    points = math.prod(reg[loop] for loop in op.par_loops)
    return points <= MAX_POINTS and register_words(op, reg) <= target.register_budget


def scale_up_registers(op: Operator, target: Target) -> list[tuple[int, ...]]:
    """Register tiles worth staging from: those no other tile beats on both shared-memory
    traffic and registers (the reuse frontier), plus the reuse-greedy path through them."""
    sizes = loop_sizes(op, target)
    choices = [
        reg_extents(sizes[loop]) if op.parallel[loop] else [1] for loop in range(len(op.extents))
    ]
    tiles = [reg for reg in product(*choices) if reg_fits(op, target, reg)]
    costs = {reg: (register_words(op, reg), smem_traffic(op, reg)) for reg in tiles}
    frontier = [
        reg
        for reg in tiles
        if not any(_dominates(costs[other], costs[reg]) for other in tiles if other != reg)
    ]
    return frontier + _greedy_registers(op, target, choices)


def _dominates(a: tuple, b: tuple) -> bool:
    return a[0] <= b[0] and a[1] <= b[1] and a != b


def _greedy_registers(op: Operator, target: Target, choices) -> list[tuple[int, ...]]:
    """Double the loop with the best reuse score until the register budget (Roller's path)."""
    contiguous = set(_output_contiguous(op))
    reg = tuple(1 for _ in op.extents)
    found = [reg]
    while True:
        options = []
        for loop in op.par_loops:
            larger = [extent for extent in choices[loop] if extent > reg[loop]]
            if not larger:
                continue
            grown = _with(reg, loop, larger[0])
            if reg_fits(op, target, grown):
                score = reg_reuse_score(op, reg, grown)
                options.append(((score, loop in contiguous, loop), grown))
        if not options:
            return found
        reg = max(options)[1]
        found.append(reg)


# -- Level 2: thread block (shared memory) --------------------------------------------------


def scale_up_block(op, target: Target, reg, sizes) -> list[Config]:
    block = _smallest_block(op, reg, sizes)
    if block is None:
        return []
    contiguous = set(_output_contiguous(op))
    visited = {block: None}
    frontier = [block]
    while frontier:
        options = {}
        for block in frontier:
            whole_warps = warp_aligned(op, Config(block, reg), target.warp)
            if whole_warps and _compute_bound(op, target, block):
                continue
            for loop in range(len(op.extents)):
                grown_size = _next_size(op, sizes, loop, block[loop], reg[loop])
                if grown_size is None:
                    continue
                grown = _with(block, loop, grown_size)
                if grown in visited or not block_fits(op, target, Config(grown, reg)):
                    continue
                score = block_reuse_score(op, block, grown)
                key = (score, op.parallel[loop], loop in contiguous, loop)
                options[grown] = max(key, options.get(grown, key))
        frontier = sorted(options, key=options.get, reverse=True)[:BLOCK_BEAM]
        visited.update(dict.fromkeys(frontier))
    candidates = []
    for block in visited:
        for variant in _stage_variants(op, target, block, reg, sizes):
            config = Config(variant, reg)
            if warp_aligned(op, config, target.warp) and coalesced(op, config, target):
                candidates.append(config)
    return candidates


def block_fits(op: Operator, target: Target, config: Config) -> bool:
    """Threads, shared memory (with the largest padding ``smem_pads`` may add) and registers
    are within the machine's limits."""
    key = ("fits", config.block, config.reg)
    if key not in op.memo:
        op.memo[key] = _block_fits(op, target, config)
    return op.memo[key]


def _block_fits(op: Operator, target: Target, config: Config) -> bool:
    if config.threads(op) > target.max_threads:
        return False
    config = config.with_pads(_largest_pads(op))
    if smem_bytes(op, config, target.mma_shape) > target.smem_capacity:
        return False
    return isinstance(target.spec, CpuSpec) or occupancy(op, config, target.spec) > 0


def coalesced(op: Operator, config: Config, target: Target) -> bool:
    """Neighbouring threads cover at least a whole sector of the output's contiguous dimension
    (or all of it), so each warp-wide access of a register-tile point is whole sectors."""
    per_loop = config.threads_per_loop(op)
    for out in op.outputs:
        for loop in out.innermost_loops:
            needed = min(
                target.sector_bytes // out.element_bytes,
                math.ceil(op.extents[loop] / config.reg[loop]),
            )
            if per_loop.get(loop, 1) < needed:
                return False
    return True


def _largest_pads(op: Operator) -> tuple[int, ...]:
    return tuple(
        VECTOR_BYTES // a.element_bytes if i in op.staged else 0 for i, a in enumerate(op.inputs)
    )


def _smallest_block(op, reg, sizes) -> tuple[int, ...] | None:
    block = []
    for loop, options in enumerate(sizes):
        step = reg[loop] if op.parallel[loop] else 1
        fitting = [size for size in options if size % step == 0 and size >= reg[loop]]
        if not fitting:
            return None
        block.append(fitting[0])
    return tuple(block)


def _next_size(op, sizes, loop, current, reg_extent) -> int | None:
    step = reg_extent if op.parallel[loop] else 1
    return next((s for s in sizes[loop] if s > current and s % step == 0), None)


def _stage_variants(op, target, block, reg, sizes) -> list[tuple[int, ...]]:
    """``block`` and deeper stages of it: each step grows the reduction loop that cuts the
    number of stages the most (a stage costs a global round trip and two barriers)."""
    variants = [block]
    current = block
    while True:
        options = []
        for loop in op.red_loops:
            size = _next_size(op, sizes, loop, current[loop], 1)
            if size is None:
                continue
            cut = math.ceil(op.extents[loop] / current[loop]) / math.ceil(op.extents[loop] / size)
            options.append((cut, loop, _with(current, loop, size)))
        if not options:
            return variants
        current = max(options)[2]
        if not block_fits(op, target, Config(current, reg)):
            return variants
        variants.append(current)


def _compute_bound(op: Operator, target: Target, block: tuple[int, ...]) -> bool:
    intensity = op.points * op.flops_per_point / global_traffic(op, block)
    return intensity >= target.ridge


def _output_contiguous(op: Operator) -> list[int]:
    return [loop for out in op.outputs for loop in out.innermost_loops]


def _with(tile: tuple[int, ...], loop: int, size: int) -> tuple[int, ...]:
    return tile[:loop] + (size,) + tile[loop + 1 :]


# -- The exhaustive baseline ----------------------------------------------------------------


def enumerate_space(op: Operator, spec: GpuSpec | CpuSpec):
    """Every config of the aligned space construction draws from (same sizes, same limits)."""
    target = Target.of(spec)
    sizes = loop_sizes(op, target)
    reg_choices = [
        reg_extents(sizes[loop]) if op.parallel[loop] else [1] for loop in range(len(op.extents))
    ]
    for reg in product(*reg_choices):
        if not reg_fits(op, target, reg):
            continue
        block_choices = [
            [s for s in sizes[loop] if s % reg[loop] == 0 and s >= reg[loop]]
            if op.parallel[loop]
            else sizes[loop]
            for loop in range(len(op.extents))
        ]
        for block in product(*block_choices):
            config = Config(block, reg)
            if (
                warp_aligned(op, config, target.warp)
                and coalesced(op, config, target)
                and block_fits(op, target, config)
            ):
                yield config


def best_of_space(op: Operator, spec: GpuSpec | CpuSpec) -> tuple[Ranked | None, int]:
    """The model's best config of the whole aligned space, and how many configs it has."""
    best, count = None, 0
    target = Target.of(spec)
    for config in enumerate_space(op, spec):
        count += 1
        est = estimate(op, config, spec)
        if est.feasible and (best is None or est.seconds < best.estimate.seconds):
            best = Ranked(config, est)
    if best is not None:
        best = Ranked(best.config.with_pads(_pads(op, best.config, target)), best.estimate)
    return best, count
