"""Welder's latency model of one kernel: traffic and work per block, waves over the SMs.

A kernel's blocks go to the SMs in waves; an SM holds as many blocks at once as its
threads, registers and shared memory allow (a fused kernel's shared memory is its phases'
staging buffers and the on-chip intermediates, placed best-fit over their lifetimes:
``quartet.passes.lower_tiles.shared``). A wave takes the longer of its blocks' work
(FLOPs over the SM's share of peak) and their global traffic (bytes over the SM's share of L2
bandwidth: re-reads by neighbouring blocks hit L2), plus each phase's barriers and the
latency of every reduction stage; the kernel adds the charge of one launch (a parameter: a
real launch, or under Rammer the far smaller handoff between launches of one persistent
kernel, ``quartet.rammer.cost.launch_charge``). The traffic is exactly what the
lowering emits (``quartet-lower-tiles``' counts), so a connection that keeps an intermediate
on chip wins the bytes it no longer moves and pays for whatever its consumers recompute.
"""

from __future__ import annotations

import math

from quartet.hardware import GpuSpec
from quartet.passes.lower_tiles.launch import kernel_launch
from quartet.passes.lower_tiles.plan import KernelPlan, Member
from quartet.passes.lower_tiles.traffic import kernel_traffic
from quartet.roller.config import register_words
from quartet.roller.model import BARRIER_CYCLES, STAGE_LATENCY_CYCLES

INFEASIBLE = math.inf


class OverCapacity(ValueError):
    """A block of the kernel does not fit an SM (the message says which resource)."""


def kernel_seconds(kernel: KernelPlan, spec: GpuSpec, launch_seconds: float) -> float:
    """The modelled time of ``kernel`` on ``spec``, ``launch_seconds`` for its launch
    included; raises :class:`OverCapacity` when a block does not fit an SM."""
    launch = kernel_launch(kernel)
    registers = max(_registers(member) for member in kernel.phases)
    if launch.threads > spec.max_threads_per_block:
        raise OverCapacity(f"{launch.threads} threads per block")
    if launch.shared > spec.static_smem_per_block:
        raise OverCapacity(f"{launch.shared} B of shared memory per block")
    per_sm = spec.blocks_per_sm(launch.threads, registers, launch.shared)
    if per_sm == 0:
        raise OverCapacity(f"{registers} registers per thread")
    blocks = launch.blocks
    resident = min(per_sm, math.ceil(blocks / spec.sm_count))
    waves = math.ceil(blocks / (spec.sm_count * per_sm))
    moved = sum(loaded + stored for loaded, stored in kernel_traffic(kernel).values())
    tensor_cores = any(member.plan.mma is not None for member in kernel.phases)
    peak = spec.tensor_flops if tensor_cores else spec.fp32_flops
    work = resident * flops(kernel) / blocks / (peak / spec.sm_count)
    traffic = resident * moved / blocks / (spec.l2_bandwidth / spec.sm_count)
    latency = sum(_latency_cycles(member) for member in kernel.phases) / spec.clock_hz
    return waves * (max(work, traffic) + latency) + launch_seconds


def flops(kernel: KernelPlan) -> float:
    """Arithmetic of every phase and epilogue over the grid (an inline producer's work is a
    few operations per read and left out)."""
    blocks = math.prod(kernel.grid)
    total = 0.0
    for member in kernel.phases:
        points = math.prod(member.block_tile[loop] for loop in member.par_loops)
        steps = math.prod(member.extents[loop] for loop in member.red_loops)
        total += blocks * points * steps * _body_operations(member)
        total += sum(blocks * points * _body_operations(e) for e in member.epilogue)
    return total


def _body_operations(member: Member) -> int:
    body = member.op.regions[0].blocks[0]
    return max(1, sum(1 for op in body.operations if op.name != "linalg.yield"))


def _registers(member: Member) -> int:
    return register_words(member.operator, member.reg_tile)


def _latency_cycles(member: Member) -> float:
    """A phase's barriers, and one global round trip per reduction stage."""
    if not member.red_loops:
        return BARRIER_CYCLES
    stages = math.prod(
        math.ceil(member.extents[loop] / member.block_tile[loop]) for loop in member.red_loops
    )
    per_stage = BARRIER_CYCLES if member.plan.double_buffer else STAGE_LATENCY_CYCLES
    return stages * per_stage
