"""The lowering plan of one operator under one rProgram: the decisions quartet-lower-tiles builds.

One function decides, for the tiling passes to write into the IR as ``tile.plan`` and for
Roller's cost model to cost: threads per loop (the block tile over the register tile, 1 along
reduction loops), which inputs are staged in shared memory per reduction stage (those read
along a reduction loop), double buffering (one reduction loop with more than one stage, no
tensor cores), and the m16n8k16 tensor-core plan for a contraction ``C(m,n) += A(m,k) * B(k,n)``
of f16/bf16 inputs into f32 whose tiles are exact multiples of the MMA shape.

    plan_for(matmul_f16, Config(block=(64, 64, 16), reg=(4, 4, 1)), mma_shape=(16, 8, 16))
    == Plan(threads=(16, 16, 1), staged=(0, 1), double_buffer=False,
            mma=TensorCores(m=0, n=1, k=2, warps_m=2, warps_n=4, tiles_m=2, tiles_n=2))
"""

from __future__ import annotations

import math

from mlir import ir

from quartet.dialects.tile import PLAN, PROGRAM, Plan, TensorCores
from quartet.roller.config import Config
from quartet.roller.operator import HALF_TYPES, Operator

MMA_K = 16
"""Depth of one m16n8k16 step (PTX ISA, "Matrix shape" of mma.sync for .f16/.bf16)."""


def plan_for(
    op: Operator,
    config: Config,
    mma_shape: tuple[int, int, int] | None,
    double_buffer: bool = True,
) -> Plan:
    """The plan of ``op`` tiled by ``config`` on a machine with ``mma_shape`` tensor cores
    (memoized per operator: construction asks for the same configs many times)."""
    key = ("plan", config.block, config.reg, mma_shape, double_buffer)
    if key not in op.memo:
        op.memo[key] = _plan(op, config, mma_shape, double_buffer)
    return op.memo[key]


def plan_attributes(
    op: Operator, config: Config, mma_shape, double_buffer: bool = True
) -> dict[str, ir.Attribute]:
    """``tile.program`` and the ``tile.plan`` the lowering builds from it, as IR attributes."""
    plan = plan_for(op, config, mma_shape, double_buffer)
    return {PROGRAM: config.to_rprogram().to_attr(), PLAN: plan.to_attr()}


def smem_bytes(op: Operator, config: Config, mma_shape: tuple[int, int, int] | None) -> int:
    """Shared memory of the staged inputs' buffers under the plan, padding included."""
    key = ("smem", config.block, config.pads, mma_shape)
    if key not in op.memo:
        plan = plan_for(op, config, mma_shape)
        total = 0
        for i in plan.staged:
            access = op.inputs[i]
            shape = access.buffer_shape(config.block)
            shape[-1] += config.pads[i] if config.pads else 0
            total += math.prod(shape) * access.element_bytes
        op.memo[key] = total * (2 if plan.double_buffer else 1)
    return op.memo[key]


def _plan(op: Operator, config: Config, mma_shape, double_buffer: bool) -> Plan:
    threads = tuple(
        config.block[loop] // config.reg[loop] if op.parallel[loop] else 1
        for loop in range(len(op.extents))
    )
    staged = tuple(op.staged)
    cores = tensor_cores(op, config, threads) if mma_shape == (16, 8, MMA_K) else None
    return Plan(threads, staged, double_buffer and _double_buffers(op, config, cores), cores)


def _double_buffers(op: Operator, config: Config, cores: TensorCores | None) -> bool:
    if len(op.red_loops) != 1 or not op.staged or cores is not None:
        return False
    (loop,) = op.red_loops
    return op.extents[loop] > config.block[loop]


def tensor_cores(op: Operator, config: Config, threads: tuple[int, ...]) -> TensorCores | None:
    """The tensor-core plan when ``op`` is a contraction the m16n8k16 path covers, else None:
    a batched one only with one batch element per block."""
    roles = _contraction_loops(op)
    if roles is None:
        return None
    m, n, k = roles
    block = config.block
    if any(op.extents[loop] % block[loop] for loop in roles) or block[k] % MMA_K:
        return None
    if any(block[loop] != 1 for loop in batch_loops(op, roles)):
        return None
    count = math.prod(threads)
    if count % 32:
        return None
    return _warp_grid(m, n, k, block, count // 32)


def batch_loops(op: Operator, roles: tuple[int, int, int]) -> list[int]:
    """The parallel loops of a contraction other than its m and n (batch dimensions)."""
    return [loop for loop in op.par_loops if loop not in roles[:2]]


def _contraction_loops(op: Operator) -> tuple[int, int, int] | None:
    """(m, n, k) for ``C[b..., m, n] += ext(A[b..., m, k]) * ext(B[b..., k, n])`` on f16/bf16
    into f32: leading batch dimensions (each the same loop in all three), either operand
    stored transposed (``A[k, m]``, ``B[n, k]``: PyTorch's Linear is A·Bᵀ); the lowering
    reads a transposed operand's staged tile through a transposed view."""
    if len(op.par_loops) < 2 or len(op.red_loops) != 1 or len(op.inputs) != 2:
        return None
    if not op.multiply_add or any(access is None for access in op.inputs):
        return None
    a, b = op.inputs
    (c,) = op.outputs
    (k,) = op.red_loops
    a_loops, b_loops, c_loops = (
        tuple(form.single_loop() for form in access.forms) for access in (a, b, c)
    )
    batch = c_loops[:-2]
    if len(c_loops) < 2 or a_loops[: len(batch)] != batch or b_loops[: len(batch)] != batch:
        return None
    m, n = c_loops[-2:]
    if set(batch) | {m, n} != set(op.par_loops):
        return None
    a_rest, b_rest = a_loops[len(batch) :], b_loops[len(batch) :]
    if a_rest not in ((m, k), (k, m)) or b_rest not in ((k, n), (n, k)):
        return None
    if a.element not in HALF_TYPES or b.element != a.element or c.element != "f32":
        return None
    return m, n, k


def _warp_grid(m: int, n: int, k: int, block, warps: int) -> TensorCores | None:
    """The most square warp grid whose warp tiles are whole 16x8 tiles."""
    fitting = [
        (wm, warps // wm)
        for wm in range(1, warps + 1)
        if warps % wm == 0 and block[m] % (16 * wm) == 0 and block[n] % (8 * (warps // wm)) == 0
    ]
    if not fitting:
        return None
    wm, wn = min(fitting, key=lambda grid: abs(block[m] // grid[0] - block[n] // grid[1]))
    return TensorCores(m, n, k, wm, wn, block[m] // (16 * wm), block[n] // (8 * wn))
