"""Moving pure operators on tensors out of a region: what may move, what it reads, what it
writes into. Shared by the passes that move work across a control-flow boundary at the graph
level: ``quartet-hoist-invariants`` (out of a loop) and ``quartet-speculate-branches`` (out
of a branch).

What may move: pure operators on tensors and scalars (``linalg.generic`` without runtime
checks, reshapes, slices, ``tensor.empty``, ``arith``). An operator that checks at run time
stays: moved out of a loop that might not run, or of a branch that is not taken, it could
report an error the model never makes.
"""

from __future__ import annotations

from mlir import ir

from quartet.dialects import tile

PURE = (
    "linalg.generic",
    "tensor.empty",
    "tensor.expand_shape",
    "tensor.collapse_shape",
    "tensor.extract_slice",
)
DESTINATIONS = ("linalg.generic", "tensor.insert_slice")  # ops that write into an operand


def movable(op: ir.Operation) -> bool:
    """Whether ``op`` is pure and computes on values only (no buffer, no runtime check)."""
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


def values_defined_in(parent: ir.Operation) -> set[ir.Value]:
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


def free_values(op: ir.Operation) -> set[ir.Value]:
    """The values ``op`` and the ops in its regions read that are defined outside it."""
    used: set[ir.Value] = set()

    def visit(inner: ir.Operation) -> ir.WalkResult:
        used.update(inner.operands)
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return used - values_defined_in(op)


def written_by(op: ir.Operation, staying: set[ir.Operation]) -> bool:
    """Whether an op of ``staying`` writes into a result of ``op`` (uses it as the
    destination of a generic or of an insert_slice)."""
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
