"""quartet-poison-buffers: heap buffers start as poison, so a read before any write shows.

A debug step of the CPU pipeline (``QUARTET_POISON=1``, see ``quartet/runtime/poison.py``): every
``memref.alloc`` is followed by a loop nest that stores the poison pattern, every byte 0xFF, in
each element: a NaN of every float type and -1 of every integer type (``true`` for i1). Memory
from ``malloc`` is often zero, which hides a kernel that reads a temporary before the kernel that
writes it, or leaves part of it unwritten; poison makes the result NaN (or a wild integer).

    %t = memref.alloc() : memref<4x8xf32>
  becomes
    %t = memref.alloc() : memref<4x8xf32>
    %bits = arith.constant -1 : i32
    %nan = arith.bitcast %bits : i32 to f32
    scf.for %i = %c0 to %c4 step %c1 {
      scf.for %j = %c0 to %c8 step %c1 {
        memref.store %nan, %t[%i, %j] : memref<4x8xf32>
      }
    }
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir
from mlir.dialects import arith, memref

from quartet.passes.base import ModulePass, PassError
from quartet.passes.builder import const_index, for_loop


@dataclass(frozen=True)
class PoisonBuffers(ModulePass):
    """Fill every memref.alloc with the poison pattern (all bits set) right after it."""

    name = "quartet-poison-buffers"

    def apply(self, module: ir.Operation) -> None:
        allocations: list[ir.Operation] = []

        def visit(op: ir.Operation) -> ir.WalkResult:
            if op.name == "memref.alloc":
                allocations.append(op)
            return ir.WalkResult.ADVANCE

        module.walk(visit)
        for allocation in allocations:
            buffer = allocation.results[0]
            element = ir.MemRefType(buffer.type).element_type
            if not isinstance(element, ir.IntegerType | ir.FloatType | ir.IndexType):
                raise PassError(f"cannot poison a buffer of {element}", allocation)
            with ir.InsertionPoint.after(allocation), allocation.location:
                _fill(buffer, _poison(element))


def _poison(element: ir.Type) -> ir.Value:
    """The all-ones value of ``element``: -1 of an integer, its bits as a float."""
    if not isinstance(element, ir.FloatType):
        return arith.ConstantOp(element, ir.IntegerAttr.get(element, -1)).result
    bits = ir.IntegerType.get_signless(element.width)
    return arith.bitcast(element, arith.ConstantOp(bits, ir.IntegerAttr.get(bits, -1)).result)


def _fill(buffer: ir.Value, value: ir.Value, indices: tuple[ir.Value, ...] = ()) -> None:
    """Store ``value`` in every element of ``buffer``: one ``scf.for`` per dimension."""
    shape = ir.MemRefType(buffer.type)
    dimension = len(indices)
    if dimension == shape.rank:
        memref.store(value, buffer, list(indices))
        return
    extent = (
        memref.dim(buffer, const_index(dimension))
        if shape.is_dynamic_dim(dimension)
        else shape.shape[dimension]
    )
    with for_loop(0, extent, 1) as index:
        _fill(buffer, value, (*indices, index))
