"""quartet-error-word: give every runtime check the buffer it reports into.

A ``tile.check`` (an ONNX Gather meeting an index out of range, say) makes the run fail with an
error of its function's ``tile.errors`` table. It reports by writing its code into the
function's error word: one i32 in global memory that whoever runs the function zeroes before
the run and reads after it (0: no error; else the largest code of a failed check). On buffers,
this pass makes that word a last argument of every function with checks, marked
``tile.error_word`` so that the host program and the CPU runtime find it by name, and makes it
each check's second operand. Outlining then passes it to every kernel that checks (a value the
body uses), and the target lowerings write it (:func:`expand_check`).

    func.func @f(%x: memref<4xi64>, %y: memref<4xf32>) attributes {tile.errors = [...]} {
      linalg.generic ... { ... "tile.check"(%ok) {code = 1 : i32} : (i1) -> () ... }
  becomes
    func.func @f(%x: memref<4xi64>, %y: memref<4xf32>, %word: memref<1xi32> {tile.error_word})
        attributes {tile.errors = [...]} {
      linalg.generic ... { ... "tile.check"(%ok, %word) {code = 1 : i32} ... }
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir
from mlir.dialects import arith, memref

from quartet.dialects import tile
from quartet.passes import builder as b
from quartet.passes.base import ModulePass, PassError
from quartet.passes.iteration_space import ops_named


@dataclass(frozen=True)
class ErrorWord(ModulePass):
    """Add an error-word argument to every function with runtime checks and wire the checks
    to it."""

    name = "quartet-error-word"

    def apply(self, module: ir.Operation) -> None:
        called = {
            ir.FlatSymbolRefAttr(call.attributes["callee"]).value
            for call in ops_named(module, "func.call")
        }
        for func in module.regions[0].blocks[0].operations:
            if func.operation.name != "func.func" or not len(func.regions[0].blocks):
                continue
            checks = [op for op in ops_named(func.operation, tile.CHECK) if len(op.operands) == 1]
            if not checks:
                continue
            if ir.StringAttr(func.attributes["sym_name"]).value in called:
                raise PassError("a function with runtime checks cannot be called", func)
            word = add_error_word(func)
            for check in checks:
                _wire(check, word)


def add_error_word(func) -> ir.Value:
    """A new last argument of ``func``, marked ``tile.error_word``."""
    block = func.regions[0].blocks[0]
    function_type = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)
    word_type = ir.Type.parse(tile.ERROR_WORD_TYPE)
    word = block.add_argument(word_type, func.location)
    inputs = [*function_type.inputs, word_type]
    func.attributes["function_type"] = ir.TypeAttr.get(
        ir.FunctionType.get(inputs, function_type.results)
    )
    existing = (
        list(ir.ArrayAttr(func.attributes["arg_attrs"]))
        if "arg_attrs" in func.attributes
        else [ir.DictAttr.get({}) for _ in function_type.inputs]
    )
    marked = ir.DictAttr.get({tile.ERROR_WORD: ir.UnitAttr.get()})
    func.attributes["arg_attrs"] = ir.ArrayAttr.get([*existing, marked])
    return word


def error_word_argument(func) -> int | None:
    """The position of ``func``'s argument marked ``tile.error_word``, if it has one."""
    if "arg_attrs" not in func.attributes:
        return None
    for position, attrs in enumerate(ir.ArrayAttr(func.attributes["arg_attrs"])):
        if tile.ERROR_WORD in ir.DictAttr(attrs):
            return position
    return None


def _wire(check: ir.Operation, word: ir.Value) -> None:
    """Replace ``check`` by the same check reporting into ``word``."""
    with ir.InsertionPoint(check), check.location:
        ir.Operation.create(
            tile.CHECK,
            operands=[check.operands[0], word],
            attributes={"code": check.attributes["code"]},
        )
    check.erase()


def expand_check(check: ir.Operation) -> None:
    """``check`` as the code that sets its error word: where ``ok`` is false, an atomic signed
    max of its code into the word (the same on both targets: PTX ``atom.global.max.s32``, an
    LLVM ``atomicrmw max`` on the CPU). Max makes the result independent of which thread or
    block fails first."""
    if len(check.operands) != 2:
        raise PassError("a tile.check needs its error word (run quartet-error-word first)", check)
    ok, word = check.operands
    with ir.InsertionPoint(check), check.location:
        failed = arith.xori(ok, arith.constant(ir.IntegerType.get_signless(1), 1))
        with b.only_if(failed):
            code = arith.constant(ir.IntegerType.get_signless(32), check.attributes["code"])
            memref.atomic_rmw(arith.AtomicRMWKind.maxs, code, word, [b.const_index(0)])
    check.erase()
