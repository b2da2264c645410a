"""quartet-map-to-cpu: the barrier-phase loops as a sequential program for the CPU.

Tensor-core steps (``tile.mma``) become each lane's own dot products (passes/mma.py), runtime
checks (``tile.check``) the atomic update of their error word (passes/error_word.py).

Thread phases are sibling ``scf.parallel`` loops, so running each to completion before the next
already honours every CTA barrier: the barriers are dropped. Shared-memory and per-thread buffers
become ordinary stack buffers (``finalize-memref-to-llvm`` mis-handles GPU address spaces, see
PLATFORM.md), one per block iteration (views into a kernel's shared allocation lose the space
with it); ``buffer-loop-hoisting`` later lifts them out of the loops.

    %a_s = memref.alloca() : memref<64x20xf32, #gpu.address_space<workgroup>>
    "schedule.barrier"() {scope = "cta"} : () -> ()
  becomes
    %a_s = memref.alloca() : memref<64x20xf32>
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.dialects import tile
from quartet.passes.base import ModulePass
from quartet.passes.error_word import expand_check
from quartet.passes.mma import expand_sequential


@dataclass(frozen=True)
class MapToCpu(ModulePass):
    """Drop CTA barriers and GPU address spaces: the phase loops run sequentially on the CPU."""

    name = "quartet-map-to-cpu"

    def apply(self, module: ir.Operation) -> None:
        barriers, allocas, steps, checks = [], [], [], []

        def visit(op: ir.Operation) -> ir.WalkResult:
            if op.name == "tile.mma":
                steps.append(op)
            elif op.name == tile.CHECK:
                checks.append(op)
            elif op.name == "schedule.barrier":
                barriers.append(op)
            elif op.name in VIEWED and _has_gpu_space(op.results[0].type):
                allocas.append(op)  # a buffer, or a view of the kernel's shared allocation
            return ir.WalkResult.ADVANCE

        module.walk(visit)
        for step in steps:
            expand_sequential(step)
        for check in checks:
            expand_check(check)
        for barrier in barriers:
            barrier.erase()
        for alloca in allocas:
            buffer = ir.MemRefType(alloca.results[0].type)
            plain = ir.MemRefType.get(buffer.shape, buffer.element_type, buffer.layout)
            alloca.results[0].set_type(plain)


VIEWED = ("memref.alloca", "memref.view", "memref.transpose")
"""Ops whose results are GPU buffers or views of them (a transposed view keeps its layout)."""


def _has_gpu_space(value_type: ir.Type) -> bool:
    return ir.MemRefType(value_type).memory_space is not None
