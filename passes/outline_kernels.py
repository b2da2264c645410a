"""quartet-outline-kernels: each tiled operator becomes a call to a kernel function, and
identical operators share one function.

A BERT encoder repeats the same layer twelve times: the same operators on the same shapes, only
the buffers differ. Outlining every tiled ``linalg.generic`` (on buffers) into a private
``func.func`` that takes its buffers as arguments, and keeping one function per distinct body,
lets every later stage (lowering, the GPU and CPU tails, PTX, the JIT) do the work of one layer;
the host function calls the shared kernel once per use.

    func.func @f(%x: memref<8xf32>, %y: memref<8xf32>, %z: memref<8xf32>) {
      linalg.generic {tile.program = ...} ins(%x) outs(%y)    // y = relu(x)
      linalg.generic {tile.program = ...} ins(%y) outs(%z)    // z = relu(y)
    }
  becomes
    func.func @f(...) {
      call @f_k0.func(%x, %y) : (memref<8xf32>, memref<8xf32>) -> ()
      call @f_k0.func(%y, %z) : (memref<8xf32>, memref<8xf32>) -> ()
    }
    func.func private @f_k0.func(%a: memref<8xf32>, %b: memref<8xf32>) {
      linalg.generic {tile.kernel = #tile.kernel<"f_k0">, tile.program = ...} ins(%a) outs(%b)
    }

The kernel function's arguments are the operator's distinct non-constant operands and the outer
values its body reads (a gather's table), in order of first use; constants it uses are cloned
in, so they are part of what makes two kernels identical. Two operators share a kernel exactly
when their outlined functions print the same. ``tile.kernel`` names the kernel for every later
pass (the block loop, the ``gpu.module`` and the PTX entry are all called after it); the
function is ``<kernel>.func``, so that GPU outlining finds the kernel's own name free.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir
from mlir.dialects import func

from quartet.dialects import tile
from quartet.dialects.tile import Kernel
from quartet.passes.base import ModulePass, PassError

_CANDIDATE = "__quartet_kernel_candidate"


@dataclass(frozen=True)
class OutlineKernels(ModulePass):
    """Outline every tiled linalg.generic into a kernel function, one per distinct operator."""

    name = "quartet-outline-kernels"

    def apply(self, module: ir.Operation) -> None:
        body = module.regions[0].blocks[0]
        hosts = [op for op in body.operations if _is_host_function(op)]
        for host in hosts:
            kernels: dict[str, str] = {}  # printed candidate -> kernel name
            prefix = ir.StringAttr(host.attributes["sym_name"]).value
            for generic in _tiled_generics(host.operation):
                _outline(module, generic, prefix, kernels)


def _is_host_function(op: ir.OpView) -> bool:
    """A function with a body that is not itself a kernel."""
    if op.operation.name != "func.func" or len(op.regions[0].blocks) == 0:
        return False
    return not any(tile.KERNEL in g.attributes for g in _tiled_generics(op.operation))


def _tiled_generics(op: ir.Operation) -> list[ir.Operation]:
    found: list[ir.Operation] = []

    def visit(child: ir.Operation) -> ir.WalkResult:
        if child.name == "linalg.generic" and "tile.program" in child.attributes:
            found.append(child)
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return found


def _outline(module: ir.Operation, generic: ir.Operation, prefix: str, kernels: dict) -> None:
    if len(generic.results) != 0:
        raise PassError("expected buffer semantics (run one-shot-bufferize first)", generic)
    used = _distinct(list(generic.operands) + _captured(generic))
    constants = [v for v in used if _is_constant(v)]
    arguments = [v for v in used if not _is_constant(v)]
    candidate = _candidate_function(module, generic, constants, arguments)
    text = candidate.operation.get_asm(use_local_scope=True)
    name = kernels.get(text)
    if name is None:
        name = f"{prefix}_k{len(kernels)}"
        kernels[text] = name
        candidate.attributes["sym_name"] = ir.StringAttr.get(function_name(name))
        _kernel_generic(candidate).attributes[tile.KERNEL] = Kernel(name).to_attr()
    else:
        candidate.operation.erase()
    with ir.InsertionPoint(generic), generic.location:
        func.CallOp([], ir.FlatSymbolRefAttr.get(function_name(name)), arguments)
    generic.erase()


def function_name(kernel: str) -> str:
    """The symbol of the function that holds kernel ``kernel``."""
    return f"{kernel}.func"


def _candidate_function(module, generic, constants, arguments) -> func.FuncOp:
    """A private function holding a clone of ``generic`` over its own arguments."""
    with ir.InsertionPoint(module.regions[0].blocks[0]), generic.location:
        candidate = func.FuncOp(_CANDIDATE, ([v.type for v in arguments], []), visibility="private")
        entry = candidate.add_entry_block()
    mapping = dict(zip(arguments, entry.arguments, strict=True))
    with ir.InsertionPoint(entry), generic.location:
        for value in constants:
            mapping[value] = value.owner.clone().results[0]
        clone = generic.clone()
        func.ReturnOp([])
    _remap(clone, mapping)
    return candidate


def _kernel_generic(candidate: func.FuncOp) -> ir.Operation:
    return next(op for op in candidate.entry_block.operations if op.name == "linalg.generic")


def _remap(op: ir.Operation, mapping: dict[ir.Value, ir.Value]) -> None:
    """Replace, in ``op`` and every op nested in it, the operands ``mapping`` names."""

    def visit(child: ir.Operation) -> ir.WalkResult:
        for index, operand in enumerate(child.operands):
            if operand in mapping:
                child.operands[index] = mapping[operand]
        return ir.WalkResult.ADVANCE

    op.walk(visit)


def _captured(generic: ir.Operation) -> list[ir.Value]:
    """Values defined outside ``generic`` that ops in its body use, in order of use."""
    inside: set[ir.Value] = set()
    captured: list[ir.Value] = []

    def visit(child: ir.Operation) -> ir.WalkResult:
        for region in child.regions:
            for block in region.blocks:
                inside.update(block.arguments)
        if child != generic:
            captured.extend(v for v in child.operands if v not in inside)
        inside.update(child.results)
        return ir.WalkResult.ADVANCE

    generic.walk(visit, ir.WalkOrder.PRE_ORDER)
    return captured


def _distinct(values: list[ir.Value]) -> list[ir.Value]:
    return list(dict.fromkeys(values))


def _is_constant(value: ir.Value) -> bool:
    owner = value.owner
    return isinstance(owner, ir.OpView) and owner.operation.name == "arith.constant"
