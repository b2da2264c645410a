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
from mlir.dialects import arith, gpu, memref, scf

from quartet.dialects import schedule, tile
from quartet.dialects.tile import Kernel, Launch
from quartet.passes import builder as b
from quartet.passes.base import ModulePass, PassError
from quartet.passes.dynamic_shared import ARENA
from quartet.passes.error_word import expand_check
from quartet.passes.mma import expand_warp
from quartet.passes.rammer.lowering import (
    expand_grid_barrier_on_gpu,
    expand_signal_on_gpu,
    expand_wait_on_gpu,
)


@dataclass(frozen=True)
class MapToGpu(ModulePass):
    """Turn block/thread phase loops into gpu.launch kernels with gpu.barrier between phases."""

    name = "quartet-map-to-gpu"

    def apply(self, module: ir.Operation) -> None:
        programs = [op for op in _walk(module) if schedule.VEUS in op.attributes]
        arena = _Arena(module, programs) if programs else None
        block_sizes = _task_block_sizes(module, programs)
        for task in _task_functions(module):
            name = ir.StringAttr(task.attributes["sym_name"]).value
            if name not in block_sizes:
                raise PassError("a task function no vEU program calls", task)
            _Task(module, task, block_sizes[name], arena).build()
        for kernel in [op for op in _walk(module) if _is_block_loop(op)]:
            _Launch(module, kernel).build()


def _is_block_loop(op: ir.Operation) -> bool:
    return op.name == "scf.parallel" and tile.KERNEL in op.attributes


def _task_functions(module: ir.Operation) -> list[ir.Operation]:
    """Task functions (quartet-rammer): functions that carry their kernel's ``tile.kernel``."""
    return [
        op.operation
        for op in module.regions[0].blocks[0].operations
        if op.operation.name == "func.func" and tile.KERNEL in op.attributes
    ]


def _task_block_sizes(module: ir.Operation, programs: list[ir.Operation]) -> dict[str, int]:
    """The block size each task function runs in: the widest vEU program calling it (a
    narrower program's threads are then a subset its guards already allow for)."""
    sizes: dict[str, int] = {}
    for program in programs:
        threads = Launch.from_attr(program.attributes[tile.LAUNCH]).threads
        for op in _walk(program):
            if op.name == "func.call":
                name = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
                sizes[name] = max(sizes.get(name, 0), threads)
    return sizes


class _Arena:
    """The one dynamic shared allocation of the module's persistent kernels, declared as an
    external workgroup global sized to the largest (``quartet-dynamic-shared`` makes it the
    PTX ``.extern .shared`` array); each task's shared allocation is a view of its start."""

    SYMBOL = ARENA

    def __init__(self, module: ir.Operation, programs: list[ir.Operation]):
        self.bytes = max(Launch.from_attr(p.attributes[tile.LAUNCH]).shared for p in programs)
        i8 = ir.IntegerType.get_signless(8)
        self.type = ir.MemRefType.get([max(self.bytes, 1)], i8, memory_space=_workgroup())
        body = module.regions[0].blocks[0]
        with ir.InsertionPoint.at_block_begin(body), module.location:
            memref.GlobalOp(self.SYMBOL, ir.TypeAttr.get(self.type), alignment=ALIGNMENT)

    def view(self, alloca: ir.Operation) -> None:
        """``alloca`` (workgroup bytes) as the arena's first bytes."""
        with ir.InsertionPoint(alloca), alloca.location:
            arena = memref.get_global(self.type, self.SYMBOL)
            view = memref.view(alloca.results[0].type, arena, b.const_index(0), [])
        alloca.results[0].replace_all_uses_with(view)
        alloca.erase()


def _i32() -> ir.Type:
    return ir.IntegerType.get_signless(32)


def _workgroup() -> ir.Attribute:
    return ir.Attribute.parse("#gpu.address_space<workgroup>")


ALIGNMENT = 16
"""Bytes the arena is aligned to: the widest access a thread makes to shared memory (a
128-bit vector); each task lays its buffers out from the arena's start (lower_tiles/shared)."""


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


def _bounds(loop) -> list[tuple[int, int, int]]:
    """(lower, upper, step) of each dimension of the ``scf.parallel`` ``loop``: constants."""
    return [
        tuple(_constant(value, "a block loop bound", loop) for value in dimension)
        for dimension in zip(loop.lowerBound, loop.upperBound, loop.step, strict=True)
    ]


LEAVES = ("tile.mma", tile.CHECK, schedule.WAIT, schedule.SIGNAL, schedule.BARRIER, "memref.alloca")
"""The ops of a block's code that take a GPU form, gathered before any is rewritten."""


class _Body:
    """The code of one thread block (a gpu.launch body, or a task function called from
    one): its thread phases become straight-line code of each thread, its leaf ops their GPU
    form, its buffers shared or per-thread memory."""

    ctas: int | None = None
    """The CTAs of the grid a grid barrier waits for (a vEU program's vEUs)."""

    def __init__(self, module: ir.Operation, root: ir.Operation, name: str, threads: int):
        self.module, self.name, self.threads = module, name, threads
        self.phases = [op for op in _walk(root)[:-1] if op.name == "scf.parallel"]
        for phase in self.phases:
            if len(phase.opview.upperBound) != 1:
                raise PassError("thread phases must be one-dimensional scf.parallel loops", phase)
            bound = _constant(phase.opview.upperBound[0], "a thread phase bound", phase)
            if bound > threads:
                raise PassError(
                    f"a thread phase of {bound} threads exceeds the block's {threads} "
                    "(tile.launch)",
                    phase,
                )

    def lower(self, root: ir.Operation, thread_id: ir.Value) -> None:
        self.thread_id = thread_id
        for phase in self.phases:
            self._inline_phase(phase.opview)
        ops = _walk(root)
        named = {name: [op for op in ops if op.name == name] for name in LEAVES}
        for step in named["tile.mma"]:
            expand_warp(step)
        for check in named[tile.CHECK]:
            expand_check(check)
        for wait in named[schedule.WAIT]:
            expand_wait_on_gpu(wait, thread_id)
        for signal in named[schedule.SIGNAL]:
            expand_signal_on_gpu(signal, thread_id)
        for barrier in named[schedule.BARRIER]:
            if ir.StringAttr(barrier.attributes["scope"]).value == "grid":
                if self.ctas is None:
                    raise PassError("a grid barrier outside a vEU program", barrier)
                expand_grid_barrier_on_gpu(barrier, thread_id, self.ctas)
                continue
            with ir.InsertionPoint(barrier), barrier.location:
                gpu.BarrierOp()
            barrier.erase()
        for alloca in named["memref.alloca"]:
            space = str(ir.MemRefType(alloca.results[0].type).memory_space)
            if "workgroup" in space:
                self.shared(alloca)
            elif "private" in space:
                self._to_thread_local(alloca)

    def shared(self, alloca: ir.Operation) -> None:
        """Where ``alloca``, a workgroup buffer of the block, lives."""
        raise NotImplementedError

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


class _Launch(_Body):
    """One block loop being rebuilt as a gpu.launch: a kernel's, or a vEU program's (its
    grid the vEUs, its shared memory the arena, dynamic; outlined into a gpu.module that
    carries ``schedule.veus``, so that quartet-launch-bounds and the host see it)."""

    def __init__(self, module: ir.Operation, kernel: ir.Operation):
        loop = kernel.opview
        name = Kernel.from_attr(kernel.attributes[tile.KERNEL]).name
        if tile.LAUNCH not in kernel.attributes:
            raise PassError("a block loop needs its tile.launch (run quartet-lower-tiles)", loop)
        self.launch = Launch.from_attr(kernel.attributes[tile.LAUNCH])
        if _bounds(loop) != [(0, blocks, 1) for blocks in self.launch.grid]:
            raise PassError(
                f"the block loop must run over its tile.launch grid {list(self.launch.grid)}", loop
            )
        super().__init__(module, kernel, name, self.launch.threads)
        self.kernel = loop
        self.veus = kernel.attributes.get(schedule.VEUS, None)
        if self.veus is not None:
            self.ctas = schedule.Veus.from_attr(self.veus).count

    def build(self) -> None:
        loop, grid = self.kernel, list(self.launch.grid)
        with ir.InsertionPoint(loop), loop.location:
            shared = self.launch.shared
            dynamic = None if self.veus is None else arith.constant(_i32(), shared)
            launch = gpu.LaunchOp(
                (b.const_index(math.prod(grid)), b.const_index(1), b.const_index(1)),
                (b.const_index(self.threads), b.const_index(1), b.const_index(1)),
                dynamic_shared_memory_size=dynamic,
            )
            launch.attributes["function"] = ir.FlatSymbolRefAttr.get(self.name)
            launch.attributes["module"] = ir.FlatSymbolRefAttr.get(self.name)
            body = launch.regions[0].blocks[0]
            with ir.InsertionPoint(body):
                block_ids = b.delinearize(body.arguments[0], grid)
                terminator = gpu.TerminatorOp()
            _inline_body(loop, terminator, block_ids)
            loop.operation.erase()
        if self.veus is not None:
            self._declare_module()
        self.lower(launch.operation, body.arguments[3])
        for segment in _walk(launch.operation):
            if schedule.SEGMENT in segment.attributes:  # no vEU program any more
                del segment.attributes[schedule.SEGMENT]

    def _declare_module(self) -> None:
        """The gpu.module the program is outlined into, made beforehand to carry its vEUs
        per SM (gpu-kernel-outlining fills a module of the launch's name that exists)."""
        body = self.module.regions[0].blocks[0]
        per_sm = schedule.Veus.from_attr(self.veus).per_sm
        with ir.InsertionPoint(body), self.module.location:
            declared = gpu.GPUModuleOp(self.name)
            declared.attributes[schedule.PER_SM] = ir.IntegerAttr.get(_i32(), per_sm)
            declared.regions[0].blocks.append()

    def shared(self, alloca: ir.Operation) -> None:
        self._to_shared_global(alloca)

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


class _Task(_Body):
    """A task function (quartet-rammer): the block code of one task, called by a vEU. Its
    threads are the calling vEU program's, its shared buffers views of the arena."""

    def __init__(self, module, task: ir.Operation, threads: int, arena: _Arena):
        name = ir.StringAttr(task.attributes["sym_name"]).value
        super().__init__(module, task, name, threads)
        self.task, self.arena = task, arena

    def build(self) -> None:
        entry = self.task.regions[0].blocks[0]
        with ir.InsertionPoint.at_block_begin(entry), self.task.location:
            thread_id = gpu.thread_id(gpu.Dimension.x)
        self.lower(self.task, thread_id)
        for alloca in [op for op in _walk(self.task) if op.name == "memref.alloca"]:
            alloca.move_before(thread_id.owner)  # registers: LLVM promotes entry-block allocas

    def shared(self, alloca: ir.Operation) -> None:
        self.arena.view(alloca)


def _inline_body(loop, anchor: ir.Operation, replacements: list[ir.Value]) -> None:
    """Move ``loop``'s body (minus its terminator) before ``anchor``, its ivs replaced."""
    block = loop.regions[0].blocks[0]
    for op in list(block.operations)[:-1]:
        op.move_before(anchor)
    for iv, value in zip(block.arguments, replacements, strict=True):
        iv.replace_all_uses_with(value)
