"""Whether a kernel's operators may all run at its output operator's position.

The block loop of a kernel replaces its output operator, so every other member moves down to
it, past whatever lies between them in the block. That is sound only if nothing passed over
depends on a member or is depended on by it: no operation between a member and the output
operator (nested operations included) may read or write a buffer the member writes, nor write
a buffer the member reads. Buffers are compared by the allocation or argument they view
(through subviews, casts and reshapes); an operation whose effects are not known here
(a call) counts as reading and writing every buffer it is given.
"""

from __future__ import annotations

from mlir import ir

from quartet.passes.base import PassError
from quartet.passes.iteration_space import nested_ops
from quartet.passes.lower_tiles.plan import KernelPlan, Member

_VIEWS = frozenset(
    {
        "memref.cast",
        "memref.collapse_shape",
        "memref.expand_shape",
        "memref.memory_space_cast",
        "memref.reinterpret_cast",
        "memref.subview",
        "memref.transpose",
        "memref.view",
    }
)  # a new view of operand 0: no access of its own
_LOADS = frozenset({"memref.load", "vector.load", "vector.transfer_read"})
_STORES = frozenset({"memref.store", "vector.store", "vector.transfer_write"})


def check_order(plan: KernelPlan) -> None:
    """PassError at the first operation between the kernel's members that a member moving
    down to the output operator would pass in a way that changes what either computes."""
    members = {member.op.operation: member for member in plan.members}
    block_ops = list(plan.output.op.operation.block.operations)
    positions = {op.operation: i for i, op in enumerate(block_ops)}
    first = min(positions[op] for op in members)
    read, written = set(), set()  # buffers the members before the current operation use
    for op in block_ops[first : positions[plan.output.op.operation]]:
        member = members.get(op.operation)
        if member is not None:
            read |= {_root(value) for value in _member_reads(member)}
            written |= {_root(value) for value in member.outputs}
            continue
        for nested in nested_ops(op.operation):
            loads, stores = _effects(nested)
            if {_root(v) for v in (*loads, *stores)} & written:
                raise PassError(
                    "reads or writes a buffer that an operator of the fused kernel before it "
                    "writes, but the whole kernel runs after it (at its output operator)",
                    nested,
                )
            if {_root(v) for v in stores} & read:
                raise PassError(
                    "writes a buffer that an operator of the fused kernel before it reads, but "
                    "the whole kernel runs after it (at its output operator)",
                    nested,
                )


def _member_reads(member: Member) -> list[ir.Value]:
    """The buffers ``member`` reads: its operands, and the values its body reads through
    computed indices."""
    return [*member.op.operands, *(read.operands[0] for read in member.space.reads)]


def _effects(op: ir.Operation) -> tuple[list[ir.Value], list[ir.Value]]:
    """(buffers ``op`` itself may read, buffers it may write)."""
    buffers = [value for value in op.operands if isinstance(value.type, ir.MemRefType)]
    name = op.name
    if name in _VIEWS:
        return [], []
    if name in _LOADS:
        return buffers, []
    if name in _STORES:
        return [], buffers
    if name == "memref.copy":
        return buffers[:1], buffers[1:]
    outputs = getattr(op.opview, "outputs", None) if name.startswith("linalg.") else None
    if outputs is not None:  # destination-passing style: writes its outputs only
        return buffers, [value for value in outputs if isinstance(value.type, ir.MemRefType)]
    return buffers, buffers


def _root(value: ir.Value) -> ir.Value:
    """The buffer ``value`` views (itself unless it is a subview, cast or reshape)."""
    while not isinstance(value.owner, ir.Block) and value.owner.operation.name in _VIEWS:
        value = value.owner.operation.operands[0]
    return value
