"""Roller's micro performance model: how long a config takes, from traffic and FLOPs.

GPU (``gpu_estimate``): a block's time is the largest of its compute time (padded FLOPs over
the SM's share of peak), its global traffic over the SM's share of L2 bandwidth, its shared-
memory traffic over the SM's shared-memory bandwidth, and the latency of its reduction stages
(one global round trip per stage, overlapped by the other blocks resident on the SM). Blocks go
to SMs in waves: each SM runs ceil(blocks / SMs) of them, so a grid slightly larger than the
machine pays for a whole extra wave (wave quantization). Occupancy (blocks per SM from threads,
registers and shared memory) bounds how many blocks overlap and how well the FMA latency is
hidden. The operator never beats its compulsory DRAM traffic.

CPU (``cpu_estimate``): the tiled program runs serially on one core. Per reduction point a
"thread" loads its register-tile operands from the staged buffer and updates its accumulators;
per stage a block copies its staged tiles. Each load costs more when the staged tile spills
out of L1 or L2. Costs per operation (``CPU_COSTS``) were fitted on this project's CPU lowering.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from quartet.hardware import CpuSpec, GpuSpec
from quartet.roller.config import Config, register_words, smem_bytes
from quartet.roller.operator import Operator
from quartet.roller.reuse import global_traffic, smem_traffic

STAGE_LATENCY_CYCLES = 800
"""Global load + two barriers per reduction stage, without double buffering (cycles)."""

FMA_LATENCY_WARPS = 8
"""Independent warp-instructions a scheduler needs in flight to issue an FMA every cycle."""

SCHEDULERS_PER_SM = 4  # [H100-WP], [A100-WP], [V100-WP]: four SM sub-partitions


@dataclass(frozen=True)
class Estimate:
    seconds: float
    blocks: int
    blocks_per_sm: int
    waves: int
    bound: str  # what dominates: compute, l2, smem, latency or dram

    @property
    def feasible(self) -> bool:
        return math.isfinite(self.seconds)


INFEASIBLE = Estimate(math.inf, 0, 0, 0, "infeasible")


def occupancy(op: Operator, config: Config, spec: GpuSpec) -> int:
    """Blocks one SM holds at once (0: the config does not fit)."""
    threads = config.threads(op)
    smem = smem_bytes(op, config)
    regs = register_words(op, config.reg)
    if threads > spec.max_threads_per_block or smem > spec.static_smem_per_block:
        return 0
    if regs > spec.max_registers_per_thread:
        return 0
    warps = math.ceil(threads / spec.warp_size)
    unit = spec.register_alloc_unit
    regs_per_block = warps * math.ceil(regs * spec.warp_size / unit) * unit
    limits = [
        spec.max_blocks_per_sm,
        spec.max_threads_per_sm // (warps * spec.warp_size),
        spec.registers_per_sm // regs_per_block,
    ]
    if smem:
        limits.append(spec.smem_per_sm // smem)
    return max(0, min(limits))


def gpu_estimate(op: Operator, config: Config, spec: GpuSpec) -> Estimate:
    per_sm = occupancy(op, config, spec)
    if per_sm == 0:
        return INFEASIBLE
    blocks, steps = config.blocks(op), config.steps(op)
    per_sm_blocks = math.ceil(blocks / spec.sm_count)
    resident = min(per_sm, per_sm_blocks)
    waves = math.ceil(blocks / (spec.sm_count * per_sm))
    warps = resident * math.ceil(config.threads(op) / spec.warp_size)
    ilp = min(config.points(op), FMA_LATENCY_WARPS)
    issue = min(1.0, warps / SCHEDULERS_PER_SM * ilp / FMA_LATENCY_WARPS)
    peak = spec.tensor_flops if op.contraction_roles else spec.fp32_flops
    flops = math.prod(config.block) * steps * op.flops_per_point  # padded points of one block
    terms = {
        "compute": flops / (peak / spec.sm_count) / issue,
        "l2": global_traffic(op, config.block) / blocks / (spec.l2_bandwidth / spec.sm_count),
        "smem": smem_traffic(op, config.reg) / blocks / spec.smem_bandwidth_per_sm,
        "latency": steps * STAGE_LATENCY_CYCLES / spec.clock_hz / resident,
    }
    bound = max(terms, key=terms.get)
    seconds = per_sm_blocks * terms[bound]
    compulsory = sum(a.size * a.element_bytes for a in op.accesses) / spec.dram_bandwidth
    if compulsory > seconds:
        bound, seconds = "dram", compulsory
    return Estimate(seconds, blocks, per_sm, waves, bound)


# Fitted on this machine's CPU form (bench/roller.py, arch=cpu): seconds per operation.
CPU_COSTS = {
    "point": 1.1e-9,  # accumulator load + body + store, per register-tile point
    "load": 0.55e-9,  # one operand load from the staged buffer (L1 hit)
    "copy": 1.5e-9,  # one element of a cooperative copy into the staged buffer
    "thread": 4e-9,  # per thread per reduction point: loop and index overhead
    "l2_factor": 2.0,  # operand loads when the staged tiles overflow L1
    "dram_factor": 4.0,  # ... and when they overflow L2
}


def cpu_estimate(op: Operator, config: Config, spec: CpuSpec) -> Estimate:
    blocks, steps = config.blocks(op), config.steps(op)
    threads = config.threads(op)
    red_points = math.prod(config.block[loop] for loop in op.red_loops)
    step_tile = tuple(1 if loop in op.red_loops else r for loop, r in enumerate(config.reg))
    loads = sum(op.inputs[i].footprint(step_tile) for i in op.staged)
    if not op.red_loops:
        loads = sum(a.footprint(config.reg) for a in op.inputs if a is not None)
        red_points = 1
    staged = smem_bytes(op, config)
    factor = 1.0
    if staged > spec.l2_bytes:
        factor = CPU_COSTS["dram_factor"]
    elif staged > spec.l1d_bytes:
        factor = CPU_COSTS["l2_factor"]
    copies = sum(op.inputs[i].footprint(config.block) for i in op.staged)
    per_thread = (
        config.points(op) * CPU_COSTS["point"]
        + loads * CPU_COSTS["load"] * factor
        + CPU_COSTS["thread"]
    )
    per_stage = copies * CPU_COSTS["copy"] + threads * red_points * per_thread
    seconds = blocks * steps * per_stage
    return Estimate(seconds, blocks, 1, blocks, "cpu")


def estimate(op: Operator, config: Config, spec: GpuSpec | CpuSpec) -> Estimate:
    if isinstance(spec, CpuSpec):
        return cpu_estimate(op, config, spec)
    return gpu_estimate(op, config, spec)
