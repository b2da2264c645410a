"""Copy kernels: a host ``memref.copy`` as the launch of a kernel that copies, for a host
whose loops run on the device (quartet-grinder).

A vEU program runs launches; a copy the host makes between them would end the program there
(and a copy inside a device loop could not run at all). So each copy becomes a call of a kernel
function in the loop-level form quartet-lower-tiles gives every kernel, one per distinct pair
of source and destination buffers. A side that is a view (a row of a stacked output at the
loop's index) is passed as the buffer it views and its offsets (index values: the kernel ABI
passes bare pointers, no views):

    func.func private @f_copy0.func(%src: memref<2x8xf32>, %dst: memref<2x8xf32, strided<..>>) {
      scf.parallel (%block) = (0) to (G) {tile.kernel = #tile.kernel<"f_copy0">, tile.launch =
          #tile.launch<[G], T, 0>, tile.traffic = array<i64: B, 0, 0, B>,
          welder.modelled_seconds = ...} {
        scf.parallel (%t) = (0) to (T) {
          %e = %block x T + %t
          scf.if %e < N { %dst[delinearize %e] = %src[delinearize %e] }
        }
      }
    }

Its modelled time is the host's launch charge plus its bytes read and written at the arch's
DRAM bandwidth (Welder's model of a memory-bound kernel, passes/welder/model.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlir import ir
from mlir.dialects import arith, func, memref

from quartet.dialects import tile
from quartet.passes import builder as b
from quartet.passes.base import PassError
from quartet.welder import MODELLED_SECONDS

THREADS = 128
"""Threads of a copy kernel's block: four warps, each thread one element per block."""

TRAFFIC = "tile.traffic"


@dataclass(frozen=True)
class _Side:
    """One side of a copy as the kernel takes it: the buffer (a view's base: the bare-pointer
    kernel ABI passes no views), the view's offsets into it (index values, none for a whole
    buffer) and the extents the copy walks in it (the view's sizes)."""

    buffer: ir.Value
    offsets: list[ir.Value]
    sizes: list[int]

    @classmethod
    def of(cls, value: ir.Value) -> _Side:
        owner = value.owner
        if not (isinstance(owner, ir.OpView) and owner.operation.name == "memref.subview"):
            return cls(value, [], list(ir.MemRefType(value.type).shape))
        view = owner.opview
        if any(stride != 1 for stride in view.static_strides):
            raise PassError("a copy through a strided view", owner)
        dynamic = iter(view.offsets)
        marker = ir.ShapedType.get_dynamic_stride_or_offset()
        offsets = [
            next(dynamic) if static == marker else b.const_index(static)
            for static in view.static_offsets
        ]
        return cls(view.source, offsets, list(view.static_sizes))

    @property
    def key(self) -> str:
        return f"{self.buffer.type}+{len(self.offsets)}"


class CopyKernels:
    """The copy kernels of ``module``, made as copies need them."""

    def __init__(self, module: ir.Operation, spec):
        self.module, self.spec = module, spec
        self.made: dict[tuple[str, str], str] = {}

    def replace_copies(self, host: ir.Operation, charge: float) -> None:
        """Every ``memref.copy`` of ``host`` (nested ones too) as a call of a copy kernel."""
        copies: list[ir.Operation] = []

        def visit(op: ir.Operation) -> ir.WalkResult:
            if op.name == "memref.copy":
                copies.append(op)
            return ir.WalkResult.ADVANCE

        host.walk(visit)
        host_name = ir.StringAttr(host.attributes["sym_name"]).value
        for copy in copies:
            with ir.InsertionPoint(copy), copy.location:
                source, target = (_Side.of(value) for value in copy.operands)
                seconds = charge + copy_work_seconds(copy, self.spec)
                name = self._kernel(host, host_name, source, target, seconds)
                operands = [source.buffer, target.buffer, *source.offsets, *target.offsets]
                func.CallOp([], ir.FlatSymbolRefAttr.get(f"{name}.func"), operands)
            copy.erase()

    def _kernel(self, host, host_name: str, source: _Side, target: _Side, seconds) -> str:
        key = (source.key, target.key)
        if key not in self.made:
            name = f"{host_name}_copy{len(self.made)}"
            with ir.InsertionPoint(host), host.location:
                _build(name, source, target, seconds)
            self.made[key] = name
        return self.made[key]


def copy_blocks(copy: ir.Operation) -> int:
    """The blocks of the copy kernel of ``copy`` (a ``memref.copy``): one element a thread."""
    return _blocks(math.prod(ir.MemRefType(copy.operands[0].type).shape))


def copy_work_seconds(copy: ir.Operation, spec) -> float:
    """The modelled time of the copy kernel of ``copy`` without its launch charge: its bytes
    read and written at ``spec``'s DRAM bandwidth."""
    return 2 * _moved(copy.operands[0].type) / spec.dram_bandwidth


def _blocks(elements: int) -> int:
    return max(1, math.ceil(elements / THREADS))


def _moved(source: ir.Type) -> int:
    """Bytes a copy of a ``source`` buffer reads (and writes)."""
    buffer = ir.MemRefType(source)
    return math.prod(buffer.shape) * _bytes(buffer.element_type)


def _build(name: str, source: _Side, target: _Side, seconds: float) -> None:
    """The copy kernel function ``@<name>.func``, modelled to take ``seconds``."""
    elements = math.prod(source.sizes)
    moved = elements * _bytes(ir.MemRefType(source.buffer.type).element_type)
    blocks = _blocks(elements)
    index = ir.IndexType.get()
    offsets = [index] * (len(source.offsets) + len(target.offsets))
    types = [source.buffer.type, target.buffer.type, *offsets]
    function = func.FuncOp(f"{name}.func", ir.FunctionType.get(types, []))
    function.attributes["sym_visibility"] = ir.StringAttr.get("private")
    entry = function.add_entry_block()
    src, dst, *places = entry.arguments
    src_offsets, dst_offsets = places[: len(source.offsets)], places[len(source.offsets) :]
    traffic = [moved, 0, 0, moved] + [0, 0] * len(offsets)
    with ir.InsertionPoint(entry):
        with b.parallel([blocks]) as (loop, (block,)):
            loop.attributes[tile.KERNEL] = tile.Kernel(name).to_attr()
            loop.attributes[tile.LAUNCH] = tile.Launch((blocks,), THREADS, 0).to_attr()
            loop.attributes[TRAFFIC] = ir.DenseI64ArrayAttr.get(traffic)
            loop.attributes[MODELLED_SECONDS] = ir.FloatAttr.get(ir.F64Type.get(), seconds)
            with b.parallel([THREADS]) as (_, (thread,)):
                position = b.add(b.mul(block, THREADS), thread)
                inside = arith.cmpi(arith.CmpIPredicate.slt, position, b.const_index(elements))
                with b.only_if(inside):
                    value = memref.load(src, _at(position, source.sizes, src_offsets))
                    memref.store(value, dst, _at(position, target.sizes, dst_offsets))
        func.ReturnOp([])


def _at(position: ir.Value, sizes: list[int], offsets: list[ir.Value]) -> list[ir.Value]:
    """The indices of element ``position`` (row-major over ``sizes``), moved by ``offsets``."""
    indices = b.delinearize(position, sizes)
    if not offsets:
        return indices
    return [arith.addi(index, offset) for index, offset in zip(indices, offsets, strict=True)]


def _bytes(element: ir.Type) -> int:
    width = element.width if isinstance(element, ir.IntegerType | ir.FloatType) else 64
    return max(1, width // 8)
