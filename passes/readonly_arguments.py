"""quartet-readonly-arguments: a compiled model never writes its inputs.

One-shot bufferization may reuse a function's tensor argument as the buffer of a result
(an operator whose ``outs`` is an argument is computed in place), which would overwrite the
caller's input array. Marking every tensor argument ``bufferization.writable = false`` makes
bufferization copy instead.

    func.func @f(%x: tensor<4xf32>)
  becomes
    func.func @f(%x: tensor<4xf32> {bufferization.writable = false})
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.passes.base import ModulePass


@dataclass(frozen=True)
class ReadonlyArguments(ModulePass):
    """Mark every tensor argument of every function not writable by bufferization."""

    name = "quartet-readonly-arguments"

    def apply(self, module: ir.Operation) -> None:
        readonly = ir.DictAttr.get({"bufferization.writable": ir.BoolAttr.get(False)})
        for func in module.regions[0].blocks[0].operations:
            if func.operation.name != "func.func":
                continue
            inputs = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value).inputs
            existing = (
                list(ir.ArrayAttr(func.attributes["arg_attrs"]))
                if "arg_attrs" in func.attributes
                else [ir.DictAttr.get({}) for _ in inputs]
            )
            merged = [
                _with_readonly(ir.DictAttr(attrs), readonly)
                if isinstance(t, ir.RankedTensorType)
                else attrs
                for attrs, t in zip(existing, inputs, strict=True)
            ]
            func.attributes["arg_attrs"] = ir.ArrayAttr.get(merged)


def _with_readonly(attrs: ir.DictAttr, readonly: ir.DictAttr) -> ir.DictAttr:
    entries = {attrs[i].name: attrs[i].attr for i in range(len(attrs))}
    entries["bufferization.writable"] = readonly["bufferization.writable"]
    return ir.DictAttr.get(entries)
