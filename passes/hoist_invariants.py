"""quartet-hoist-invariants: work that is the same in every iteration leaves the loop.

At the graph level (tensors, before tiling), an operator in the body of an ``scf.for`` or of
an ``scf.while`` whose every input is defined outside the loop computes the same tensor in
every iteration: a weight's transpose, a reshape of a weight, a constant's broadcast. It moves
before the loop and runs once (inner loops first, so an operator invariant in two nested loops
leaves both).

    scf.for %i = %c0 to %c64 step %c1 iter_args(%h = %h0) {
      %wt = linalg.generic ins(%w) outs(%e)          // transpose of a weight
      %y = linalg.generic ins(%h, %wt) outs(%f) ...
  becomes
    %wt = linalg.generic ins(%w) outs(%e)
    scf.for %i = %c0 to %c64 step %c1 iter_args(%h = %h0) {
      %y = linalg.generic ins(%h, %wt) outs(%f) ...

What moves: pure operators on tensors and scalars (``passes/motion.py``). What stays: a value
used as a destination by an operator that stays (an accumulator's zero init: hoisted, every
iteration would write into the one tensor computed before the loop, which bufferization can
only do by copying it back each time), and an operator that checks at run time (hoisted out of
a loop that might not run, it could report an error the model never makes).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.passes.base import ModulePass
from quartet.passes.motion import free_values, movable, values_defined_in, written_by

LOOPS = ("scf.for", "scf.while")


@dataclass(frozen=True)
class HoistInvariants(ModulePass):
    """Move loop-invariant operators on tensors out of scf.for and scf.while bodies."""

    name = "quartet-hoist-invariants"

    def apply(self, module: ir.Operation) -> None:
        loops: list[ir.Operation] = []

        def visit(op: ir.Operation) -> ir.WalkResult:
            if op.name in LOOPS:
                loops.append(op)
            return ir.WalkResult.ADVANCE

        module.walk(visit, ir.WalkOrder.POST_ORDER)  # inner loops first
        for loop in loops:
            for op in _invariants(loop):
                op.move_before(loop)


def _invariants(loop: ir.Operation) -> list[ir.Operation]:
    """The operators of the loop's body to hoist, in program order: each reads only values
    from outside the loop or from operators hoisted before it, and none is the destination of
    an operator that stays (found again without such an operator until there is none)."""
    body = loop.regions[-1].blocks[0]  # scf.for's body, scf.while's "after" region
    ops = [op.operation for op in body.operations][:-1]
    defined = values_defined_in(loop)
    pinned: set[ir.Operation] = set()
    while True:
        inside, hoisted = set(defined), []
        for op in ops:
            if op not in pinned and movable(op) and not (free_values(op) & inside):
                hoisted.append(op)
                inside -= set(op.results)
        staying = {op for op in body.operations if op.operation not in hoisted}
        written = [op for op in hoisted if written_by(op, {o.operation for o in staying})]
        if not written:
            return hoisted
        pinned.update(written)
