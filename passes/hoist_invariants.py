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

What moves: pure operators on tensors and scalars (``linalg.generic`` without runtime checks,
reshapes, slices, ``tensor.empty``, ``arith``). What stays: a value used as a destination by
an operator that stays (an accumulator's zero init: hoisted, every iteration would write into
the one tensor computed before the loop, which bufferization can only do by copying it back
each time), and an operator that checks at run time (hoisted out of a loop that might not run,
it could report an error the model never makes).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.dialects import tile
from quartet.passes.base import ModulePass

LOOPS = ("scf.for", "scf.while")
PURE = (
    "linalg.generic",
    "tensor.empty",
    "tensor.expand_shape",
    "tensor.collapse_shape",
    "tensor.extract_slice",
)
DESTINATIONS = ("linalg.generic", "tensor.insert_slice")  # ops that write into an operand


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
    defined = _values_defined_in(loop)
    pinned: set[ir.Operation] = set()
    while True:
        inside, hoisted = set(defined), []
        for op in ops:
            if op not in pinned and _movable(op) and not (_free_values(op) & inside):
                hoisted.append(op)
                inside -= set(op.results)
        staying = {op for op in body.operations if op.operation not in hoisted}
        written = [op for op in hoisted if _written_by(op, {o.operation for o in staying})]
        if not written:
            return hoisted
        pinned.update(written)


def _movable(op: ir.Operation) -> bool:
    if op.name.startswith("arith."):
        return not op.regions
    if op.name not in PURE:
        return False
    if op.name == "linalg.generic":
        return all(_is_value_type(v.type) for v in op.operands) and not _checks(op)
    return True


def _is_value_type(value_type: ir.Type) -> bool:
    """A tensor or a scalar: no buffer an operator could write."""
    return not isinstance(value_type, ir.MemRefType)


def _checks(op: ir.Operation) -> bool:
    found = []

    def visit(inner: ir.Operation) -> ir.WalkResult:
        if inner.name == tile.CHECK:
            found.append(inner)
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return bool(found)


def _values_defined_in(parent: ir.Operation) -> set[ir.Value]:
    """Every value defined inside ``parent``: its blocks' arguments, its nested ops' results."""
    values: set[ir.Value] = set()

    def visit(op: ir.Operation) -> ir.WalkResult:
        for region in op.regions:
            for block in region.blocks:
                values.update(block.arguments)
        if op != parent:
            values.update(op.results)
        return ir.WalkResult.ADVANCE

    parent.walk(visit)
    return values


def _free_values(op: ir.Operation) -> set[ir.Value]:
    """The values ``op`` and the ops in its regions read that are defined outside it."""
    used: set[ir.Value] = set()

    def visit(inner: ir.Operation) -> ir.WalkResult:
        used.update(inner.operands)
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return used - _values_defined_in(op)


def _written_by(op: ir.Operation, staying: set) -> bool:
    for result in op.results:
        for use in result.uses:
            user = use.owner.operation
            if user in staying and user.name in DESTINATIONS and _is_destination(user, use):
                return True
    return False


def _is_destination(user: ir.Operation, use: ir.OpOperand) -> bool:
    """Whether the use is an operand ``user`` writes into (a generic's ``outs``, an
    insert_slice's destination)."""
    if user.name == "tensor.insert_slice":
        return use.operand_number == 1
    return use.operand_number >= len(user.opview.inputs)
