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
per stage a block copies its staged tiles. Each load costs more when the stage and the
accumulators spill out of L1 or L2. Costs per operation (``CPU_COSTS``) were fitted on
measurements of this project's CPU form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from quartet.hardware import CpuSpec, GpuSpec
from quartet.roller.config import Config, register_words
from quartet.roller.operator import Operator
from quartet.roller.plan import plan_for, smem_bytes
from quartet.roller.reuse import global_traffic, smem_traffic

STAGE_LATENCY_CYCLES = 800
"""Global load + two barriers per reduction stage, without double buffering (cycles)."""

BARRIER_CYCLES = 100
"""Two barriers per stage once the next stage's loads overlap this one (double buffering)."""

L2_LATENCY_CYCLES = 300
"""Round trip of a global load served by L2: bytes in flight per SM must cover it (Little's
law) for a block to stream at its share of L2 bandwidth."""

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
    smem = smem_bytes(op, config, spec.mma_shape)
    if smem > spec.static_smem_per_block:
        return 0
    return spec.blocks_per_sm(config.threads(op), register_words(op, config.reg), smem)


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
    plan = plan_for(op, config, spec.mma_shape)
    tensor_cores = plan.mma is not None
    peak = spec.tensor_flops if tensor_cores else spec.fp32_flops
    padded_points = math.prod(config.block) * steps  # one block's points, padding included
    flops = padded_points * op.flops_per_point
    l2_per_sm = spec.l2_bandwidth / spec.sm_count
    smem_bw = spec.smem_bandwidth_per_sm
    in_flight = resident * _bytes_per_stage(op, config)
    l2_hidden = min(1.0, in_flight / (L2_LATENCY_CYCLES * l2_per_sm / spec.clock_hz))
    stage_cycles = BARRIER_CYCLES if plan.double_buffer else STAGE_LATENCY_CYCLES
    terms = {
        "compute": flops / (peak / spec.sm_count) / issue,
        "l2": global_traffic(op, config.block) / blocks / l2_per_sm / l2_hidden,
        "smem": smem_traffic(op, config.reg) / op.points * padded_points / smem_bw / issue,
        "latency": steps * stage_cycles / spec.clock_hz / resident,
    }
    if tensor_cores:
        terms["smem"] = 0.0  # fragments are loaded warp-wide, not per point
    bound = max(terms, key=terms.get)
    seconds = per_sm_blocks * terms[bound]
    compulsory = sum(a.size * a.element_bytes for a in op.accesses) / spec.dram_bandwidth
    if compulsory > seconds:
        bound, seconds = "dram", compulsory
    return Estimate(seconds, blocks, per_sm, waves, bound)


def _bytes_per_stage(op: Operator, config: Config) -> float:
    """Global bytes one block has in flight per stage (all its loads of a stage are
    independent), or per thread phase for a pointwise op."""
    if op.staged:
        return sum(
            op.inputs[i].footprint(config.block) * op.inputs[i].element_bytes for i in op.staged
        )
    points = config.threads(op) * config.points(op)
    return points * sum(a.element_bytes for a in op.accesses)


# Seconds per operation of the CPU form (LLVM -O3 vectorizes the unrolled register tile and the
# thread loop), fitted by least squares on 33 measured configs of three matmuls (bench/roller.py,
# arch=cpu) on this project's development machine (AMD EPYC, AVX-512, 48 KB L1d).
CPU_COSTS = {
    "point": 0.04e-9,  # one register-tile point of one reduction step (vectorized FMA)
    "load": 0.15e-9,  # one operand load from the staged buffer
    "copy": 0.02e-9,  # one element of the cooperative copy into the staged buffer (vectorized)
    "thread": 1e-9,  # one thread of one stage: loop and index overhead
    "l1_usable": 0.75,  # fraction of L1d the stage and accumulators may use before loads slow
    "l2_factor": 2.0,  # loads when the stage and accumulators overflow L1
    "dram_factor": 3.0,  # ... and when they overflow L2
}


def cpu_estimate(op: Operator, config: Config, spec: CpuSpec) -> Estimate:
    blocks, steps = config.blocks(op), config.steps(op)
    threads = config.threads(op)
    red_points = math.prod(config.block[loop] for loop in op.red_loops)
    step_tile = tuple(1 if loop in op.red_loops else r for loop, r in enumerate(config.reg))
    loads = sum(op.inputs[i].footprint(step_tile) for i in op.staged)
    if not op.red_loops:
        loads = sum(a.footprint(config.reg) for a in op.inputs if a is not None)
    working_set = smem_bytes(op, config, None) + threads * config.points(op) * op.element_bytes
    factor = 1.0
    if working_set > spec.l2_bytes:
        factor = CPU_COSTS["dram_factor"]
    elif working_set > CPU_COSTS["l1_usable"] * spec.l1d_bytes:
        factor = CPU_COSTS["l2_factor"]
    copies = sum(op.inputs[i].footprint(config.block) for i in op.staged)
    per_step = config.points(op) * CPU_COSTS["point"] + loads * CPU_COSTS["load"] * factor
    per_thread = CPU_COSTS["thread"] + red_points * per_step
    per_stage = copies * CPU_COSTS["copy"] + threads * per_thread
    return Estimate(blocks * steps * per_stage, blocks, 1, blocks, "cpu")


def estimate(op: Operator, config: Config, spec: GpuSpec | CpuSpec) -> Estimate:
    if isinstance(spec, CpuSpec):
        return cpu_estimate(op, config, spec)
    return gpu_estimate(op, config, spec)
