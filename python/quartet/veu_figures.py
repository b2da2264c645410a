"""Rammer's figures of a build, read from its loop-level IR after ``quartet-rammer``.

Per vEU program (a block loop marked ``schedule.veus``), the decisions are in the IR: the
virtual device (``schedule.veus``), the vEU table (the constant global ``schedule.table``
names), each launch's segment (kernel, tasks, waits) and its task function (Welder's modelled
time, which includes the charge the host function records as ``welder.launch_seconds``).
From them: the policy's launches (:func:`quartet.rammer.cost.task_seconds`), the times the
vEU program has when it runs that table (:func:`quartet.rammer.policy.simulate`, a handoff
per dependency) and the figures the reports print (:func:`quartet.rammer.cost.figures`: vEUs,
tasks, waits, makespan against one launch per kernel, utilisation).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.counters import calls_in
from quartet.dialects import schedule, tile
from quartet.dialects.veu_program import segments_of, veu_table
from quartet.errors import QuartetError
from quartet.hardware import spec_for
from quartet.rammer.cost import Figures, figures, handoff_seconds, task_seconds
from quartet.rammer.policy import simulate
from quartet.rammer.table import LaunchNode, VeuTable, VirtualDevice
from quartet.welder import LAUNCH_SECONDS, MODELLED_SECONDS


@dataclass(frozen=True)
class VeuSchedule:
    """One persistent kernel's co-schedule: its launches, vEU table (with modelled times),
    virtual device and figures."""

    kernel: str
    launches: tuple[LaunchNode, ...]
    table: VeuTable
    device: VirtualDevice
    figures: Figures


def veu_schedules(module: ir.Module) -> list[VeuSchedule]:
    """Every vEU program of ``module`` (loop level, after quartet-rammer), in module order."""
    functions = {
        ir.StringAttr(op.attributes["sym_name"]).value: op.operation
        for op in module.body.operations
        if op.operation.name == "func.func"
    }
    charges = [
        ir.FloatAttr(f.attributes[LAUNCH_SECONDS]).value
        for f in functions.values()
        if LAUNCH_SECONDS in f.attributes
    ]
    found: list[VeuSchedule] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if schedule.VEUS in op.attributes:
            found.append(_schedule(op, functions, charges))
            return ir.WalkResult.SKIP
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return found


def _schedule(loop: ir.Operation, functions, charges: list[float]) -> VeuSchedule:
    name = tile.Kernel.from_attr(loop.attributes[tile.KERNEL]).name
    veus = schedule.Veus.from_attr(loop.attributes[schedule.VEUS])
    table = veu_table(loop)
    if isinstance(table, str) or not charges:
        raise QuartetError(f"error: the vEU program {name}: {table or 'no launch charge'}")
    spec = spec_for(veus.arch)
    device = VirtualDevice(veus.count // veus.per_sm, veus.per_sm)
    launches = []
    for segment_op, segment in segments_of(loop):
        callee = _task_function(segment_op, functions)
        modelled = ir.FloatAttr(callee.attributes[MODELLED_SECONDS]).value
        seconds = task_seconds(modelled, charges[0], segment.tasks, device.sms)
        # a wait for a launch not before it is on that launch's previous run (a loop on the
        # grid): one pass over the segments, the simulation's, is a first iteration
        earlier = tuple(launch for launch in segment.waits if launch < segment.launch)
        launches.append(LaunchNode(segment.launch, segment.kernel, segment.tasks, seconds, earlier))
    counts = [[int(hi - lo) for lo, hi in row] for row in table]
    timed = simulate(launches, counts, device, handoff_seconds(spec.clock_hz))
    return VeuSchedule(name, tuple(launches), timed, device, figures(launches, timed, device))


def _task_function(segment: ir.Operation, functions) -> ir.Operation:
    """The task function the segment calls."""
    call = calls_in(segment)[0]
    return functions[ir.FlatSymbolRefAttr(call.attributes["callee"]).value]
