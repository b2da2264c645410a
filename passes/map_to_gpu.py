"""quartet-map-to-gpu: the barrier-phase loops as ``gpu.launch`` kernels with ``gpu.barrier``.

Derives the GPU form from the same source form the CPU runs (``quartet-lower-tiles``):

- each block loop ``scf.parallel ... {tile.kernel = #tile.kernel<"f_k0">}`` becomes one
  ``gpu.launch`` named ``f_k0`` (outlined later into its own ``gpu.module @f_k0``), its
  iterations the CTAs of a 1-D grid;
- each thread phase ``scf.parallel (%t) = (0) to (T)`` inside it becomes straight-line code of
  every thread with ``%t = thread_id x`` (guarded when the phase has fewer than the block's
  threads), so the phases now share one body and ``schedule.barrier`` becomes ``gpu.barrier``;
- tensor-core steps (``tile.mma``) become fragment loads and ``nvgpu.mma.sync``;
- runtime checks (``tile.check``) become an atomic max into their error word where they fail
  (``atom.global.max.s32``, passes/error_word.py);
- workgroup buffers become ``memref.global``s in workgroup memory (``memref.alloca`` there
  crashes NVPTX, PLATFORM.md); per-thread buffers ``memref<T x N, private>`` indexed
  ``[%t, i]`` become one ``memref<N>`` per thread indexed ``[i]``, which LLVM keeps in registers
  once the indices are constants.

Upstream ``convert-parallel-loops-to-gpu`` cannot do this: it needs perfect nests and never
inserts barriers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlir import ir
from mlir.dialects import gpu, memref, scf

from quartet.dialects import tile
from quartet.dialects.tile import Kernel
from quartet.passes import builder as b
from quartet.passes.base import ModulePass, PassError
from quartet.passes.error_word import expand_check
from quartet.passes.mma import expand_warp


@dataclass(frozen=True)
class MapToGpu(ModulePass):
    """Turn block/thread phase loops into gpu.launch kernels with gpu.barrier between phases."""

    name = "quartet-map-to-gpu"

    def apply(self, module: ir.Operation) -> None:
        kernels = [op for op in _walk(module) if tile.KERNEL in op.attributes]
        for kernel in kernels:
            _Launch(module, kernel).build()


def _walk(op: ir.Operation) -> list[ir.Operation]:
    found: list[ir.Operation] = []

    def visit(child: ir.Operation) -> ir.WalkResult:
        found.append(child)
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return found


def _constant(value: ir.Value, what: str, op) -> int:
    owner = value.owner
    if not isinstance(owner, ir.OpView) or owner.operation.name != "arith.constant":
        raise PassError(f"{what} must be a constant", op)
    return ir.IntegerAttr(owner.attributes["value"]).value


class _Launch:
    """One block loop being rebuilt as a gpu.launch."""

    def __init__(self, module: ir.Operation, kernel: ir.Operation):
        self.module, self.kernel = module, kernel.opview
        self.name = Kernel.from_attr(kernel.attributes[tile.KERNEL]).name
        loop = self.kernel
        for lower, step in zip(loop.lowerBound, loop.step, strict=True):
            if _constant(lower, "a block loop bound", loop) != 0 or _constant(step, "", loop) != 1:
                raise PassError("block loops must start at 0 with step 1", loop)
        self.grid = [_constant(upper, "a block loop bound", loop) for upper in loop.upperBound]
        self.phases = [op for op in _walk(kernel)[:-1] if op.name == "scf.parallel"]
        if any(len(phase.opview.upperBound) != 1 for phase in self.phases):
            raise PassError("thread phases must be one-dimensional scf.parallel loops", loop)
        self.threads = max(
            [_constant(p.opview.upperBound[0], "a thread phase bound", p) for p in self.phases],
            default=1,
        )

    def build(self) -> None:
        loop = self.kernel
        with ir.InsertionPoint(loop), loop.location:
            launch = gpu.LaunchOp(
                (b.const_index(math.prod(self.grid)), b.const_index(1), b.const_index(1)),
                (b.const_index(self.threads), b.const_index(1), b.const_index(1)),
            )
            launch.attributes["function"] = ir.FlatSymbolRefAttr.get(self.name)
            launch.attributes["module"] = ir.FlatSymbolRefAttr.get(self.name)
            body = launch.regions[0].blocks[0]
            self.thread_id = body.arguments[3]
            with ir.InsertionPoint(body):
                block_ids = b.delinearize(body.arguments[0], self.grid)
                terminator = gpu.TerminatorOp()
            _inline_body(loop, terminator, block_ids)
            loop.operation.erase()
        for phase in self.phases:
            self._inline_phase(phase.opview)
        ops = _walk(launch.operation)
        steps = [op for op in ops if op.name == "tile.mma"]
        checks = [op for op in ops if op.name == tile.CHECK]
        allocas = [op for op in ops if op.name == "memref.alloca"]
        barriers = [op for op in ops if op.name == "schedule.barrier"]
        for step in steps:
            expand_warp(step)
        for check in checks:
            expand_check(check)
        for barrier in barriers:
            with ir.InsertionPoint(barrier), barrier.location:
                gpu.BarrierOp()
            barrier.erase()
        for alloca in allocas:
            space = str(ir.MemRefType(alloca.results[0].type).memory_space)
            if "workgroup" in space:
                self._to_shared_global(alloca)
            elif "private" in space:
                self._to_thread_local(alloca)

    def _inline_phase(self, phase) -> None:
        bound = _constant(phase.upperBound[0], "a thread phase bound", phase)
        with ir.InsertionPoint(phase), phase.location:
            if bound == self.threads:
                anchor = phase.operation
            else:
                guard = scf.IfOp(b.all_less_than([(self.thread_id, bound)]))
                with ir.InsertionPoint(guard.then_block):
                    anchor = scf.YieldOp([]).operation
        _inline_body(phase, anchor, [self.thread_id])
        phase.operation.erase()

    def _to_shared_global(self, alloca: ir.Operation) -> None:
        buffer_type = alloca.results[0].type
        symbol = f"__smem_{self.name}_{len(self._shared_names())}"
        with ir.InsertionPoint.at_block_begin(self.module.regions[0].blocks[0]), alloca.location:
            memref.GlobalOp(
                symbol,
                ir.TypeAttr.get(buffer_type),
                sym_visibility="private",
                alignment=alloca.attributes.get("alignment", None),
            )
        with ir.InsertionPoint(alloca), alloca.location:
            shared = memref.get_global(buffer_type, symbol)
        alloca.results[0].replace_all_uses_with(shared)
        alloca.erase()

    def _shared_names(self) -> list[str]:
        prefix = f"__smem_{self.name}_"
        return [
            op.attributes["sym_name"]
            for op in self.module.regions[0].blocks[0].operations
            if op.operation.name == "memref.global"
            and ir.StringAttr(op.attributes["sym_name"]).value.startswith(prefix)
        ]

    def _to_thread_local(self, alloca: ir.Operation) -> None:
        buffer = ir.MemRefType(alloca.results[0].type)
        with ir.InsertionPoint(alloca), alloca.location:
            local = memref.alloca(ir.MemRefType.get(buffer.shape[1:], buffer.element_type), [], [])
        for use in list(alloca.results[0].uses):
            access = use.owner
            indices = list(access.operands)[2 if access.name == "memref.store" else 1 :]
            if indices[0] != self.thread_id:
                raise PassError("a per-thread buffer must be indexed by the thread first", access)
            with ir.InsertionPoint(access), access.location:
                if access.name == "memref.store":
                    memref.store(access.operands[0], local, indices[1:])
                else:
                    access.results[0].replace_all_uses_with(memref.load(local, indices[1:]))
            access.erase()
        alloca.erase()


def _inline_body(loop, anchor: ir.Operation, replacements: list[ir.Value]) -> None:
    """Move ``loop``'s body (minus its terminator) before ``anchor``, its ivs replaced."""
    block = loop.regions[0].blocks[0]
    for op in list(block.operations)[:-1]:
        op.move_before(anchor)
    for iv, value in zip(block.arguments, replacements, strict=True):
        iv.replace_all_uses_with(value)
