"""quartet-widen-bool-buffers: booleans in memory are bytes; every buffer of i1 becomes one of i8.

MLIR 22's memref-to-LLVM lowering gives sub-byte elements no layout: it asserts on a store of
i1, which aborts the process. Such buffers come from graph-level ``tensor<...xi1>`` values and
from ``buffer-deallocation-pipeline`` itself (it keeps ownership flags of buffers that an
``scf.if`` or a loop may or may not have allocated in ``memref<?xi1>`` arrays). This pass runs
just before the lowering to LLVM: buffer types change from i1 to i8 wherever they appear
(results, block and function arguments, globals), a load is followed by ``arith.trunci`` and a
store preceded by ``arith.extui``, so every scalar stays i1. A numpy boolean is one byte of 0
or 1, so the function's interface to numpy is unchanged.

    %b = memref.alloc() : memref<4xi1>             %b = memref.alloc() : memref<4xi8>
    memref.store %t, %b[%i] : memref<4xi1>     ->  %w = arith.extui %t : i1 to i8
                                                   memref.store %w, %b[%i] : memref<4xi8>
    %v = memref.load %b[%i] : memref<4xi1>         %l = memref.load %b[%i] : memref<4xi8>
                                                   %v = arith.trunci %l : i8 to i1
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mlir import ir

from quartet.passes.base import ModulePass, PassError

_LOADS = {"memref.load", "vector.load"}
_STORES = {"memref.store", "vector.store"}  # the stored value is operand 0
# Element accesses this pass does not rewrite: an i1 buffer reaching one is reported.
_UNSUPPORTED = {
    "memref.atomic_rmw",
    "memref.generic_atomic_rmw",
    "vector.transfer_read",
    "vector.transfer_write",
    "vector.maskedload",
    "vector.maskedstore",
    "vector.gather",
    "vector.scatter",
}


@dataclass(frozen=True)
class WidenBoolBuffers(ModulePass):
    """Store booleans as bytes: memrefs of i1 become memrefs of i8 (loads/stores convert)."""

    name = "quartet-widen-bool-buffers"

    def apply(self, module: ir.Operation) -> None:
        loads, stores, retyped, declarations, unsupported = [], [], [], [], []

        def visit(op: ir.Operation) -> ir.WalkResult:
            if any(_is_bool_buffer(v.type) for v in op.operands):
                if op.name in _UNSUPPORTED or op.name.startswith("linalg."):
                    unsupported.append(op)
                elif op.name in _LOADS:
                    loads.append(op)
                elif op.name in _STORES and _is_bool_buffer(op.operands[1].type):
                    stores.append(op)
            for region in op.regions:
                for block in region.blocks:
                    retyped.extend(a for a in block.arguments if _is_bool_buffer(a.type))
            retyped.extend(r for r in op.results if _is_bool_buffer(r.type))
            if "function_type" in op.attributes or op.name == "memref.global":
                declarations.append(op)
            return ir.WalkResult.ADVANCE

        module.walk(visit)
        if unsupported:  # raised here: an exception inside walk() loses its type
            op = unsupported[0]
            raise PassError(f"'{op.name}' on a buffer of i1 is not supported", op)
        for op in declarations:
            if op.name == "memref.global":
                _widen_global(op)
            else:
                _widen_function_type(op)
        for value in retyped:
            value.set_type(_widened(value.type))
        for load in loads:
            _truncate_after(load)
        for store in stores:
            _extend_before(store)


def _is_bool_buffer(value_type: ir.Type) -> bool:
    if not isinstance(value_type, ir.MemRefType | ir.UnrankedMemRefType):
        return False
    element = value_type.element_type
    return isinstance(element, ir.IntegerType) and element.width == 1


def _byte_like(value_type: ir.Type) -> ir.Type:
    """i1 -> i8 and vector<..xi1> -> vector<..xi8>; other types unchanged."""
    if isinstance(value_type, ir.VectorType):
        return ir.VectorType.get(value_type.shape, _byte_like(value_type.element_type))
    if isinstance(value_type, ir.IntegerType) and value_type.width == 1:
        return ir.IntegerType.get_signless(8)
    return value_type


def _widened(value_type: ir.Type) -> ir.Type:
    """The i8 buffer type of an i1 buffer type (shape, layout and memory space kept)."""
    if not _is_bool_buffer(value_type):
        return value_type
    byte = ir.IntegerType.get_signless(8)
    if isinstance(value_type, ir.UnrankedMemRefType):
        return ir.UnrankedMemRefType.get(byte, value_type.memory_space)
    return ir.MemRefType.get(
        value_type.shape, byte, value_type.layout, memory_space=value_type.memory_space
    )


def _widen_function_type(op: ir.Operation) -> None:
    attribute = op.attributes["function_type"]
    if not isinstance(attribute, ir.TypeAttr):
        return
    signature = ir.FunctionType(attribute.value)
    op.attributes["function_type"] = ir.TypeAttr.get(
        ir.FunctionType.get(
            [_widened(t) for t in signature.inputs], [_widened(t) for t in signature.results]
        )
    )


def _widen_global(op: ir.Operation) -> None:
    buffer = ir.TypeAttr(op.attributes["type"]).value
    if not _is_bool_buffer(buffer):
        return
    widened = _widened(buffer)
    op.attributes["type"] = ir.TypeAttr.get(widened)
    initial = op.attributes.get("initial_value")
    if isinstance(initial, ir.DenseElementsAttr):
        values = np.array(initial).astype(np.int8).reshape(buffer.shape)
        tensor = ir.RankedTensorType.get(buffer.shape, widened.element_type)
        op.attributes["initial_value"] = ir.DenseElementsAttr.get(values, type=tensor)


def _truncate_after(load: ir.Operation) -> None:
    """The load now reads bytes; its users keep reading i1 through an ``arith.trunci``."""
    result = load.results[0]
    wanted = result.type
    result.set_type(_byte_like(wanted))
    with ir.InsertionPoint.after(load), load.location:
        truncated = ir.Operation.create("arith.trunci", [wanted], [result])
    result.replace_all_uses_except(truncated.results[0], truncated)


def _extend_before(store: ir.Operation) -> None:
    value = store.operands[0]
    with ir.InsertionPoint(store), store.location:
        extended = ir.Operation.create("arith.extui", [_byte_like(value.type)], [value])
    store.operands[0] = extended.results[0]
