"""The virtual device of a vEU program: how many vEUs each SM holds, and on how many SMs.

A vEU is one persistent CTA, so it needs the largest task's threads and shared memory (one
arena, reused task after task), plus the registers each thread is planned to hold. Every vEU
must be resident at once (a vEU that never starts leaves the others waiting forever), so
vEUs per SM are the CUDA occupancy rules' blocks per SM (``GpuSpec.blocks_per_sm``, with the
1 KB CUDA reserves per block). Registers are a plan, not a measurement: the persistent
kernel's PTX carries ``.minnctapersm per_sm`` (quartet-launch-bounds), which holds ptxas to
``registers per SM / (per_sm x threads)`` per thread, and the compiler checks ptxas's
figures afterwards (0 spills, the register file not exceeded), re-planning with more
registers per thread (fewer vEUs) where they do not hold (``quartet.compiler``).
"""

from __future__ import annotations

import math

from quartet.dialects import tile
from quartet.hardware import GpuSpec
from quartet.passes.base import PassError
from quartet.rammer.table import VirtualDevice


def unplaceable(spec: GpuSpec, launch: tile.Launch) -> str | None:
    """Why a task of ``launch`` cannot run on a vEU of ``spec`` (None when it can): a block of
    more threads, or more shared memory, than a block of the arch may have."""
    if launch.threads > spec.max_threads_per_block:
        return (
            f"a vEU of {launch.threads} threads is more than a block of {spec.arch} can have "
            f"({spec.max_threads_per_block})"
        )
    if launch.shared > spec.smem_per_block:
        return (
            f"a vEU needs {launch.shared} B of shared memory, more than a block of {spec.arch} "
            f"can have ({spec.smem_per_block} B)"
        )
    return None


def virtual_device(spec: GpuSpec, threads: int, shared: int, registers: int, tasks: int):
    """The vEUs of a program whose largest task needs ``threads`` and ``shared`` bytes, its
    threads planned for ``registers`` each, with ``tasks`` tasks in all: as many vEUs as there
    are tasks, at most as many as are co-resident, spread evenly over the SMs (the fewer per
    SM, the more registers ``.minnctapersm`` leaves each thread)."""
    unfit = unplaceable(spec, tile.Launch((1,), threads, shared))
    if unfit is not None:
        raise PassError(unfit)
    registers = min(registers, spec.registers_per_thread(threads, 1))
    per_sm = spec.blocks_per_sm(threads, registers, shared)
    veus = min(tasks, per_sm * spec.sm_count)
    spread = math.ceil(veus / spec.sm_count)
    return VirtualDevice(math.ceil(veus / spread), spread)
