"""quartet-outline-kernels: each tiled operator becomes a call to a kernel function, and
identical operators share one function.

A BERT encoder repeats the same layer twelve times: the same operators on the same shapes, only
the buffers differ. Outlining every tiled ``linalg.generic`` (on buffers) into a private
``func.func`` that takes its buffers as arguments, and keeping one function per distinct body,
lets every later stage (lowering, the GPU and CPU tails, PTX, the JIT) do the work of one layer;
the host function calls the shared kernel once per use (each call naming, in ``tile.names``,
the ONNX nodes of its own operators).

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

import dataclasses
from dataclasses import dataclass

from mlir import ir
from mlir.dialects import func

from quartet.diagnostics import source_name
from quartet.dialects import tile
from quartet.dialects.tile import Kernel
from quartet.passes import lower_tiles
from quartet.passes.base import ModulePass, PassError

_CANDIDATE = "__quartet_kernel_candidate"

OPERATOR_NAMES = "tile.names"
"""On each call of a kernel: the name of every operator of this use of the kernel (its ONNX
node, read from its location; "" where it has none), in the order of the kernel's operators
(``tile.members``). Identical operators share one kernel function, whose own operators keep
the first use's locations: the call is where each use's names survive."""


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
            for members in lower_tiles.kernels(host.operation):
                _outline(module, host.operation, members, prefix, kernels)


def _is_host_function(op: ir.OpView) -> bool:
    """A function with a body that is not itself a kernel."""
    if op.operation.name != "func.func" or len(op.regions[0].blocks) == 0:
        return False
    return not any(
        tile.KERNEL in g.attributes for ops in lower_tiles.kernels(op.operation) for g in ops
    )


def _outline(module, host, members: list[ir.Operation], prefix: str, kernels: dict) -> None:
    """Outline one kernel (a group's members, or one operator) into a function and a call
    at its output operator; identical kernels share the function."""
    for generic in members:
        if len(generic.results) != 0:
            raise PassError("expected buffer semantics (run one-shot-bufferize first)", generic)
    output = lower_tiles.output_op(members)
    local = _local_allocations(host, members)
    used = _distinct(
        [v for g in members for v in list(g.operands) + _captured(g) if v not in local]
    )
    constants = [v for v in used if _is_constant(v)]
    arguments = [v for v in used if not _is_constant(v)]
    candidate = _candidate_function(module, members, local, constants, arguments)
    text = candidate.operation.get_asm(use_local_scope=True)
    name = kernels.get(text)
    if name is None:
        name = f"{prefix}_k{len(kernels)}"
        kernels[text] = name
        candidate.attributes["sym_name"] = ir.StringAttr.get(function_name(name))
        _kernel_output(candidate, output).attributes[tile.KERNEL] = Kernel(name).to_attr()
    else:
        candidate.operation.erase()
    with ir.InsertionPoint(output), output.location:
        call = func.CallOp([], ir.FlatSymbolRefAttr.get(function_name(name)), arguments)
    names = [source_name(generic.location) or "" for generic in members]
    if any(names):
        call.attributes[OPERATOR_NAMES] = ir.ArrayAttr.get([ir.StringAttr.get(n) for n in names])
    for generic in reversed(members):
        generic.erase()
    for allocation in local:
        allocation.owner.operation.erase()


def function_name(kernel: str) -> str:
    """The symbol of the function that holds kernel ``kernel``."""
    return f"{kernel}.func"


def _local_allocations(host, members: list[ir.Operation]) -> list[ir.Value]:
    """Buffers the host allocates for a group's results that only the group uses: they move
    into the kernel function (where quartet-lower-tiles keeps them on chip)."""
    if len(members) == 1:
        return []
    inside = set(members)
    local = []
    for value in _distinct([v for g in members for v in g.opview.outputs]):
        owner = value.owner
        if not isinstance(owner, ir.OpView) or owner.operation.name != "memref.alloc":
            continue
        if all(use.owner.operation in inside for use in value.uses):
            local.append(value)
    return local


def _candidate_function(module, members, local, constants, arguments) -> func.FuncOp:
    """A private function holding clones of ``members`` over its own arguments."""
    first = members[0]
    with ir.InsertionPoint(module.regions[0].blocks[0]), first.location:
        candidate = func.FuncOp(_CANDIDATE, ([v.type for v in arguments], []), visibility="private")
        entry = candidate.add_entry_block()
    mapping = dict(zip(arguments, entry.arguments, strict=True))
    with ir.InsertionPoint(entry), first.location:
        for value in [*constants, *local]:
            mapping[value] = value.owner.clone().results[0]
        clones = [generic.clone() for generic in members]
        func.ReturnOp([])
    for clone in clones:
        _remap(clone, mapping)
        _anonymize_group(clone)
    return candidate


def _anonymize_group(op: ir.Operation) -> None:
    """A function holds one group, so its members' group is renamed to a fixed name: two
    groups of identical operators (the same layer repeated) then print the same and share the
    kernel."""
    if tile.GROUP in op.attributes:
        group = tile.Group.from_attr(op.attributes[tile.GROUP])
        op.attributes[tile.GROUP] = dataclasses.replace(group, name="kernel").to_attr()


def _kernel_output(candidate: func.FuncOp, output: ir.Operation) -> ir.Operation:
    """The clone of the kernel's output operator in its function."""
    generics = [op for op in candidate.entry_block.operations if op.name == "linalg.generic"]
    if tile.GROUP not in output.attributes:
        return generics[0]
    return lower_tiles.output_op([g.operation for g in generics])


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
