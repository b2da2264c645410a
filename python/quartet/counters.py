"""Whole-model counters that need no GPU clock, read from the loop-level program.

Every kernel's block loop carries its global traffic per argument of its kernel function
(``tile.traffic``, counted by quartet-lower-tiles from the kernel's plan), and the host
function calls kernel functions on its buffers. So, per inference:

- ``launches``: kernel launches (calls of kernel functions);
- ``global_bytes``: bytes read and written in global memory by all of them, halo re-reads and
  re-reads by different blocks included;
- ``intermediate_global_bytes``: the part of those on buffers the host allocates (tensors that
  are neither model inputs, weights nor outputs);
- ``compulsory_bytes``: every input, weight, constant and output once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mlir import ir

from quartet.dialects import tile
from quartet.passes.iteration_space import ops_named
from quartet.runtime_errors import ErrorTable

VIEWS = ("memref.expand_shape", "memref.collapse_shape", "memref.subview", "memref.cast")


@dataclass
class KernelTraffic:
    launches: int = 0
    loaded: int = 0  # bytes, over every launch
    stored: int = 0
    operators: list[dict] = field(default_factory=list)  # tile.members: operator, role, levels


@dataclass
class Counters:
    launches: int = 0
    global_bytes: int = 0
    intermediate_global_bytes: int = 0
    compulsory_bytes: int = 0
    kernels: dict[str, KernelTraffic] = field(default_factory=dict)
    kept_apart: list[str] = field(default_factory=list)  # quartet-welder's welder.kept_apart


def count(module: ir.Module, entry: str) -> Counters:
    """The counters of ``entry`` in the loop-level ``module`` (after quartet-lower-tiles)."""
    functions = {
        ir.StringAttr(op.attributes["sym_name"]).value: op
        for op in module.body.operations
        if op.operation.name == "func.func"
    }
    host = functions[entry]
    counters = Counters(compulsory_bytes=_compulsory(module, host))
    if "welder.kept_apart" in host.attributes:
        notes = ir.ArrayAttr(host.attributes["welder.kept_apart"])
        counters.kept_apart = [ir.StringAttr(note).value for note in notes]
    for call in ops_named(host.operation, "func.call"):
        callee = functions.get(ir.FlatSymbolRefAttr(call.attributes["callee"]).value)
        if callee is None:
            continue
        for kernel, traffic, operators in _block_loops(callee.operation):
            record = counters.kernels.setdefault(kernel, KernelTraffic(operators=operators))
            record.launches += 1
            counters.launches += 1
            for operand, (loaded, stored) in zip(call.operands, _pairs(traffic), strict=False):
                record.loaded += loaded
                record.stored += stored
                counters.global_bytes += loaded + stored
                if _allocated(operand):
                    counters.intermediate_global_bytes += loaded + stored
    for kernel, traffic, operators in _block_loops(host.operation):  # left in the host itself
        record = counters.kernels.setdefault(kernel, KernelTraffic(operators=operators))
        record.launches += 1
        counters.launches += 1
        for loaded, stored in _pairs(traffic):
            record.loaded += loaded
            record.stored += stored
            counters.global_bytes += loaded + stored
    return counters


def _block_loops(op: ir.Operation) -> list[tuple[str, list[int], list[dict]]]:
    """(kernel, traffic per argument, operators) of every block loop in ``op``."""
    found = []

    def visit(child: ir.Operation) -> ir.WalkResult:
        if tile.KERNEL in child.attributes and "tile.traffic" in child.attributes:
            name = tile.Kernel.from_attr(child.attributes[tile.KERNEL]).name
            traffic = list(ir.DenseI64ArrayAttr(child.attributes["tile.traffic"]))
            found.append((name, traffic, _operators(child)))
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return found


def _operators(block_loop: ir.Operation) -> list[dict]:
    if "tile.members" not in block_loop.attributes:
        return []
    operators = []
    for entry in ir.ArrayAttr(block_loop.attributes["tile.members"]):
        entry = ir.DictAttr(entry)
        operators.append(
            {
                "operator": ir.StringAttr(entry["operator"]).value,
                "role": ir.StringAttr(entry["role"]).value,
                "levels": [ir.StringAttr(level).value for level in ir.ArrayAttr(entry["levels"])],
            }
        )
    return operators


def _pairs(flat: list[int]) -> list[tuple[int, int]]:
    return list(zip(flat[0::2], flat[1::2], strict=True))


def _allocated(value: ir.Value) -> bool:
    """Whether ``value`` is (a view of) a buffer the host allocates: an intermediate."""
    owner = value.owner
    while isinstance(owner, ir.OpView) and owner.operation.name in VIEWS:
        owner = owner.operands[0].owner
    return isinstance(owner, ir.OpView) and owner.operation.name in (
        "memref.alloc",
        "memref.alloca",
    )


def _compulsory(module: ir.Module, host) -> int:
    """Bytes of every argument (inputs, weights, outputs) and constant buffer, once each; the
    error word is not model data (and moves no bytes unless a runtime check fails)."""
    arguments = host.regions[0].blocks[0].arguments
    errors = ErrorTable.of(host)
    total = sum(
        _bytes(argument.type)
        for position, argument in enumerate(arguments)
        if errors is None or position != errors.argument
    )
    for op in module.body.operations:
        if op.operation.name == "memref.global" and "constant" in op.attributes:
            total += _bytes(op.type_.value)
    return total


def _bytes(value_type: ir.Type) -> int:
    if not isinstance(value_type, ir.ShapedType) or not value_type.has_static_shape:
        return 0
    width = getattr(value_type.element_type, "width", 8)
    return math.prod(value_type.shape) * max(1, width // 8)
