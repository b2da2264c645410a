"""quartet-map-to-cpu: the barrier-phase loops as a sequential program for the CPU.

Tensor-core steps (``tile.mma``) become each lane's own dot products (passes/mma.py), runtime
checks (``tile.check``) the atomic update of their error word (passes/error_word.py). A vEU
program (quartet-rammer) runs launch after launch, its vEU loop inside each segment, its waits
checks that the counters are already complete, its signals plain adds; the host zeroes its
counters and sets its epoch to 1 (passes/rammer/lowering.py).

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

from quartet.dialects import schedule, tile
from quartet.passes.base import ModulePass
from quartet.passes.error_word import expand_check
from quartet.passes.mma import expand_sequential
from quartet.passes.rammer.lowering import (
    expand_signal_on_cpu,
    expand_wait_on_cpu,
    initialize_on_cpu,
    split_program,
)


@dataclass(frozen=True)
class MapToCpu(ModulePass):
    """Drop CTA barriers and GPU address spaces: the phase loops run sequentially on the CPU."""

    name = "quartet-map-to-cpu"

    def apply(self, module: ir.Operation) -> None:
        for program in _ops(module, lambda op: schedule.VEUS in op.attributes):
            split_program(program)
        barriers, allocas, steps, checks, waits, signals, host = [], [], [], [], [], [], []

        def visit(op: ir.Operation) -> ir.WalkResult:
            if op.name == schedule.WAIT:
                waits.append(op)
            elif op.name == schedule.SIGNAL:
                signals.append(op)
            elif op.name == "memref.alloc" and _names_schedule_state(op):
                host.append(op)
            elif op.name == "tile.mma":
                steps.append(op)
            elif op.name == tile.CHECK:
                checks.append(op)
            elif op.name == "schedule.barrier":
                barriers.append(op)
            elif op.name in VIEWED and _has_gpu_space(op.results[0].type):
                allocas.append(op)  # a buffer, or a view of the kernel's shared allocation
            return ir.WalkResult.ADVANCE

        module.walk(visit)
        for wait in waits:
            expand_wait_on_cpu(wait)
        for signal in signals:
            expand_signal_on_cpu(signal)
        for alloc in host:
            initialize_on_cpu(alloc)
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


def _ops(module: ir.Operation, predicate) -> list[ir.Operation]:
    found: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if predicate(op):
            found.append(op)
        return ir.WalkResult.ADVANCE

    module.walk(visit)
    return found


def _names_schedule_state(alloc: ir.Operation) -> bool:
    return schedule.COUNTERS in alloc.attributes or schedule.EPOCH in alloc.attributes


VIEWED = ("memref.alloca", "memref.view", "memref.transpose")
"""Ops whose results are GPU buffers or views of them (a transposed view keeps its layout)."""


def _has_gpu_space(value_type: ir.Type) -> bool:
    return ir.MemRefType(value_type).memory_space is not None
