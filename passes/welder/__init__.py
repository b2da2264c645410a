"""quartet-welder: fuse operators into kernels across the memory hierarchy (Welder, OSDI'23).

On graph-level IR tiled by Roller, per block: builds the tile-graph (``quartet.welder.graph``),
connects its edges and tiles every candidate group (``schedule``, ranked with ``model``), and
writes each group's decisions into the IR, where ``quartet-outline-kernels`` and
``quartet-lower-tiles`` read them (and each kernel's modelled time on its output operator,
``welder.modelled_seconds``, for the compile report and ``quartet-rammer``; the function
records the per-launch charge those times include, ``welder.launch_seconds``):

    %mm = linalg.generic {tile.program = ...}  ins(%x, %w) outs(%init)     // matmul
    %y  = linalg.generic {tile.program = ...}  ins(%mm, %b) outs(%e)       // + bias, relu
  becomes
    %mm = linalg.generic {tile.group = #tile.group<"f_g0", array<i64: 8, 6>, false>,
                          tile.levels = [..., #tile.edge<"reg">], tile.program = ...}
    %y  = linalg.generic {tile.group = #tile.group<"f_g0", array<i64: 8, 6>, true>,
                          tile.levels = [#tile.edge<"reg">, #tile.edge<"global">, ...], ...}

Each consumer operand records its own level (``tile.levels``), each member its region's
rProgram and plan, the output member the group's grid. Before connecting, a consumer that
reads a result through reshapes reads the result itself, its indexing map composed with them,
wherever that stays affine; group members are moved next to each other (a valid order, as
groups are convex). ``fusion=none`` keeps one kernel per operator, except that an
accumulator's initialisation (a fill) is still computed in registers by the reduction it
initializes. ``launch-seconds`` is what the model charges each kernel for its launch: a real
launch by default, the handoff between launches of one persistent kernel under Rammer
(``quartet.rammer.cost.launch_charge``), where fusing to save launches no longer pays.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from mlir import ir

from quartet.hardware import CpuSpec, GpuSpec, spec_for
from quartet.passes.base import ModulePass, PassError, option
from quartet.passes.welder.schedule import NOT_OUTPUT, Scheduler, grid_of
from quartet.passes.welder.schedule import apply as apply_kernel
from quartet.rammer.cost import LAUNCH_SECONDS
from quartet.welder import LAUNCH_SECONDS as LAUNCH_CHARGE
from quartet.welder import MODELLED_SECONDS
from quartet.welder.graph import TileGraph, tile_graph

FUSION = ("welder", "none")


@dataclass(frozen=True)
class Welder(ModulePass):
    """Group operators into fused kernels, with a memory level per consumer operand."""

    name = "quartet-welder"
    arch: str = option("sm_90", "target machine: sm_90, sm_80, sm_70 or cpu (model: sm_90)")
    fusion: str = option("welder", "welder: connect edges where the model says so; none")
    launch_seconds: float = option(
        LAUNCH_SECONDS, "the model's charge per kernel launch (Rammer: a handoff, far less)"
    )

    def apply(self, module: ir.Operation) -> None:
        spec = checked_spec(self.arch, self.fusion)
        if not (math.isfinite(self.launch_seconds) and self.launch_seconds >= 0):
            raise PassError(
                f"option 'launch-seconds' must be a time of at least 0, got {self.launch_seconds}"
            )
        for func in module.regions[0].blocks[0].operations:
            if func.operation.name != "func.func" or not len(func.regions[0].blocks):
                continue
            prefix = ir.StringAttr(func.attributes["sym_name"]).value
            count = 0
            for block in _blocks(func.operation):
                count = self._fuse(func, block, spec, prefix, count)

    def _fuse(self, func, block: ir.Block, spec, prefix: str, count: int) -> int:
        graph = tile_graph(block)
        if not graph.nodes:
            return count
        if self.fusion == "welder" and fold_reshapes(graph):
            graph = tile_graph(block)
        scheduler = Scheduler(graph, spec, self.fusion == "welder", self.launch_seconds)
        kernels = scheduler.run()
        self.scheduled(func, scheduler, kernels)
        func.attributes[LAUNCH_CHARGE] = ir.FloatAttr.get_f64(self.launch_seconds)
        for kernel in kernels:
            seconds = ir.FloatAttr.get_f64(kernel.seconds)
            kernel.output.op.attributes[MODELLED_SECONDS] = seconds
            if len(kernel.members) == 1:
                continue
            name = f"{prefix}_g{count}"
            count += 1
            grid = grid_of(kernel)
            apply_kernel(
                spec, kernel.members, kernel.output, kernel.levels, kernel.programs, name, grid
            )
            make_contiguous(block, [node.op.operation for node in kernel.members])
        return count

    def scheduled(self, func, scheduler: Scheduler, kernels) -> None:
        """Record on the function why edges were kept apart (``welder.kept_apart``, read into
        the compile report), not counting edges from a member inside its group."""
        notes = [
            decision.text(labels=True)
            for decision in scheduler.decisions
            if not decision.connected and decision.reason != NOT_OUTPUT
        ]
        if notes:
            append_strings(func, KEPT_APART, notes)


def model_spec(arch: str) -> GpuSpec:
    """The GPU whose latency model times kernels for ``arch`` (ValueError for an unknown one).
    The CPU form is the GPU form run serially: it is modelled as an H100 without tensor cores
    (the CPU plans have none)."""
    spec = spec_for(arch)
    if isinstance(spec, CpuSpec):
        return dataclasses.replace(spec_for("sm_90"), mma_shape=None)
    return spec


def checked_spec(arch: str, fusion: str) -> GpuSpec:
    """:func:`model_spec` of the ``arch`` option, ``fusion`` checked too: a PassError names the
    option that is wrong (quartet-welder's, and the passes that model with Welder)."""
    if fusion not in FUSION:
        raise PassError(f"option 'fusion' must be one of {', '.join(FUSION)}, got '{fusion}'")
    try:
        return model_spec(arch)
    except ValueError as error:
        raise PassError(f"option 'arch': {error}") from None


KEPT_APART = "welder.kept_apart"


def append_strings(func, key: str, values: list[str]) -> None:
    """Append ``values`` to the string array attribute ``key`` of ``func``."""
    previous = list(func.attributes[key]) if key in func.attributes else []
    func.attributes[key] = ir.ArrayAttr.get(previous + [ir.StringAttr.get(v) for v in values])


def _blocks(op: ir.Operation) -> list[ir.Block]:
    """Every block nested in ``op`` (a loop body's operators fuse among themselves)."""
    found = []

    def visit(child: ir.Operation) -> ir.WalkResult:
        if child.name != "linalg.generic":
            for region in child.regions:
                found.extend(region.blocks)
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return found


def fold_reshapes(graph: TileGraph) -> bool:
    """Make every consumer that reads a node's result through affine reshapes read the result
    itself, with its indexing map composed with them; True if anything changed. A consumer's
    operands are folded together, each kept only while every loop still indexes some operand
    dimension alone."""
    changed = False
    for consumer in graph.nodes:
        forms = list(consumer.space.forms)
        folded = []
        for edge in consumer.inputs:
            if not edge.views or edge.cut:
                continue
            trial = [*forms]
            trial[edge.operand] = edge.forms
            if _keeps_loops_alone(trial, len(consumer.space.extents)):
                forms = trial
                folded.append(edge)
        if not folded:
            continue
        op = consumer.op
        maps = [ir.AffineMapAttr(m).value for m in op.indexing_maps]
        for edge in folded:
            maps[edge.operand] = _affine_map(edge.forms, len(consumer.space.extents))
        op.operation.attributes["indexing_maps"] = ir.ArrayAttr.get(
            [ir.AffineMapAttr.get(m) for m in maps]
        )
        for edge in folded:
            op.operation.operands[edge.operand] = edge.producer.op.results[0]
        changed = True
    return changed


def _keeps_loops_alone(forms, loops: int) -> bool:
    """Whether every loop is still some operand dimension's whole index under ``forms`` (linalg
    derives each loop's extent from one)."""
    alone = {form.single_loop() for operand in forms for form in operand}
    return all(loop in alone for loop in range(loops))


def _affine_map(forms, loops: int) -> ir.AffineMap:
    results = []
    for form in forms:
        expr = ir.AffineConstantExpr.get(form.constant)
        for loop, coeff in form.coeffs:
            expr = expr + ir.AffineDimExpr.get(loop) * ir.AffineConstantExpr.get(coeff)
        results.append(expr)
    return ir.AffineMap.get(loops, 0, results)


def make_contiguous(block: ir.Block, members: list[ir.Operation]) -> None:
    """Move a group's members next to its last member (its output operator comes last), and
    whatever between them uses their results after it: one kernel runs at one position."""
    inside = set(members)
    last = members[-1]
    operations = [op.operation for op in block.operations]
    start = operations.index(members[0])
    end = operations.index(last)
    produced = {value for op in members for value in op.results}
    after = []
    for op in operations[start + 1 : end]:
        if op in inside:
            continue
        if _uses(op, produced):
            produced.update(op.results)
            after.append(op)
    for op in members[:-1]:
        op.move_before(last)
    anchor = last
    for op in after:
        op.move_after(anchor)
        anchor = op


def _uses(op: ir.Operation, values: set[ir.Value]) -> bool:
    found = False

    def visit(child: ir.Operation) -> ir.WalkResult:
        nonlocal found
        if any(operand in values for operand in child.operands):
            found = True
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return found
