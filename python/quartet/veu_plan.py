"""Whether ptxas kept a persistent kernel to its register plan, and the plan to try next.

quartet-rammer sizes a vEU program's vEUs per SM for a planned number of registers per
thread, and quartet-launch-bounds states that many vEUs per SM in the PTX (``.minnctapersm``),
which holds ptxas to ``registers per SM / (vEUs per SM x threads)`` per thread. Whether the
code fits is ptxas's to say, on the merged kernel: if it spills, or uses more registers than
let that many vEUs be resident at once (a vEU that never starts leaves the others waiting
forever), the compiler builds again from the loop level with twice the registers per
thread (so fewer vEUs), up to the most a thread of a lone vEU on an SM can have. There, a
small spill (:data:`KEPT_SPILL_BYTES`) with every vEU resident is kept, with a note; a kernel
that spills more is built as the launch list (schedule none): the persistent kernel
holds every buffer's pointer across its task calls, which the PTX call ABI saves to local
memory when there are too many.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.dialects import schedule, tile
from quartet.hardware import spec_for
from quartet.passes.rammer import DEFAULT_REGISTERS

FIRST_PLAN = DEFAULT_REGISTERS
"""Registers per thread the first build of a GPU target plans for."""

KEPT_SPILL_BYTES = 64
"""The most ptxas may spill (stores plus loads, bytes per thread) at the largest plan for the
persistent kernel to stand: 16 registers' worth, around the waits and task calls. Local memory
is cached in L1 and L2 (CUDA C++ Programming Guide, "Device Memory Accesses: Local Memory"), so
such a spill costs a few cached accesses per task, where the launch list it would otherwise
fall back to costs a launch per kernel (a few microseconds each, quartet.rammer.cost)."""


@dataclass(frozen=True)
class Replan:
    """The registers per thread to plan for next (None: no persistent kernel, the launch
    list), and why."""

    registers: int | None
    reason: str
    final: bool = False  # this build stands (a small spill at the largest plan), with the note


def planned_veus(module: ir.Module) -> dict[str, schedule.Veus]:
    """The virtual device of every vEU program in ``module``, by kernel name."""
    found: dict[str, schedule.Veus] = {}

    def visit(op: ir.Operation) -> ir.WalkResult:
        if schedule.VEUS in op.attributes:
            name = tile.Kernel.from_attr(op.attributes[tile.KERNEL]).name
            found[name] = schedule.Veus.from_attr(op.attributes[schedule.VEUS])
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return found


def replan(model, veus: dict[str, schedule.Veus], planned: int) -> Replan | None:
    """None when ptxas kept every persistent kernel of ``model`` (a GPU build) to the plan of
    ``planned`` registers per thread and its ``veus``; else the plan to build next."""
    spec = spec_for(model.target)
    for launch in model.host.launches:
        if launch.kernel not in veus:
            continue
        info = model.ptxas[launch.kernel]
        per_sm = veus[launch.kernel].per_sm
        spilled = info.spill_stores + info.spill_loads
        resident = spec.blocks_per_sm(launch.block[0], info.registers, launch.shared_bytes)
        most = spec.registers_per_thread(launch.block[0], 1)  # one vEU per SM
        if spilled == 0 and resident >= per_sm:
            continue
        if planned >= most and resident >= per_sm and spilled <= KEPT_SPILL_BYTES:
            return Replan(
                planned,
                f"{launch.kernel}: ptxas spills {spilled} B at {planned} registers per thread, "
                "the most a lone vEU per SM has, with every vEU resident: kept as one "
                f"persistent kernel (at most {KEPT_SPILL_BYTES} B, cached local memory)",
                final=True,
            )
        if planned >= most:
            return Replan(
                None,
                f"{launch.kernel}: ptxas spills {spilled} B even at {planned} registers per "
                "thread, the most a lone vEU per SM has (the persistent kernel keeps every "
                "buffer's pointer live across its calls): built as a launch list instead",
            )
        more = min(most, max(2 * planned, info.registers))
        return Replan(
            more,
            f"{launch.kernel}: planned {per_sm} vEUs per SM of {launch.block[0]} threads at "
            f"{planned} registers each, but ptxas used {info.registers} registers with "
            f"{spilled} B of spills ({resident} such vEUs fit an SM): built again for {more} "
            "registers per thread",
        )
    return None
