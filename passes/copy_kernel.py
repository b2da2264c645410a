"""Copy kernels: a host ``memref.copy`` as the launch of a kernel that copies, for a host
whose loops run on the device (quartet-grinder).

A vEU program runs launches; a copy the host makes between them would end the program there
(and a copy inside a device loop could not run at all). So each copy becomes a call of a kernel
function in the loop-level form quartet-lower-tiles gives every kernel, one per distinct pair
of source and destination types:

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

from mlir import ir
from mlir.dialects import arith, func, memref

from quartet.dialects import tile
from quartet.passes import builder as b
from quartet.welder import MODELLED_SECONDS

THREADS = 128
"""Threads of a copy kernel's block: four warps, each thread one element per block."""

TRAFFIC = "tile.traffic"


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
            source, target = copy.operands
            name = self._kernel(host, host_name, source.type, target.type, charge)
            with ir.InsertionPoint(copy), copy.location:
                func.CallOp([], ir.FlatSymbolRefAttr.get(f"{name}.func"), [source, target])
            copy.erase()

    def _kernel(self, host, host_name: str, source: ir.Type, target: ir.Type, charge) -> str:
        key = (str(source), str(target))
        if key not in self.made:
            name = f"{host_name}_copy{len(self.made)}"
            with ir.InsertionPoint(host), host.location:
                _build(name, source, target, charge + 2 * _moved(source) / self.spec.dram_bandwidth)
            self.made[key] = name
        return self.made[key]


def _moved(source: ir.Type) -> int:
    """Bytes a copy of a ``source`` buffer reads (and writes)."""
    buffer = ir.MemRefType(source)
    return math.prod(buffer.shape) * _bytes(buffer.element_type)


def _build(name: str, source: ir.Type, target: ir.Type, seconds: float) -> None:
    """The copy kernel function ``@<name>.func``, modelled to take ``seconds``."""
    shape = list(ir.MemRefType(source).shape)
    elements = math.prod(shape)
    moved = _moved(source)
    blocks = max(1, math.ceil(elements / THREADS))
    function = func.FuncOp(f"{name}.func", ir.FunctionType.get([source, target], []))
    function.attributes["sym_visibility"] = ir.StringAttr.get("private")
    entry = function.add_entry_block()
    src, dst = entry.arguments
    with ir.InsertionPoint(entry):
        with b.parallel([blocks]) as (loop, (block,)):
            loop.attributes[tile.KERNEL] = tile.Kernel(name).to_attr()
            loop.attributes[tile.LAUNCH] = tile.Launch((blocks,), THREADS, 0).to_attr()
            loop.attributes[TRAFFIC] = ir.DenseI64ArrayAttr.get([moved, 0, 0, moved])
            loop.attributes[MODELLED_SECONDS] = ir.FloatAttr.get(ir.F64Type.get(), seconds)
            with b.parallel([THREADS]) as (_, (thread,)):
                position = b.add(b.mul(block, THREADS), thread)
                inside = arith.cmpi(arith.CmpIPredicate.slt, position, b.const_index(elements))
                with b.only_if(inside):
                    indices = b.delinearize(position, shape)
                    memref.store(memref.load(src, indices), dst, indices)
        func.ReturnOp([])


def _bytes(element: ir.Type) -> int:
    width = element.width if isinstance(element, ir.IntegerType | ir.FloatType) else 64
    return max(1, width // 8)
