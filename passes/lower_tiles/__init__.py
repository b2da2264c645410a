"""quartet-lower-tiles: each kernel's tiled operators on buffers -> one block loop of phases.

A kernel is a Welder group (the ``linalg.generic`` ops of a block sharing a ``tile.group``) or a
single tiled operator. It becomes one block loop in the barrier-phase form, the one source
form both targets derive from (DESIGN.md, "Loops"); one iteration is one thread block, which
computes one tile of the group's output operator:

    scf.parallel (%block...) {tile.kernel = #tile.kernel<"f_k0">} {
      %a_s = memref.alloca() : memref<64x17xf32, #gpu.address_space<workgroup>>
      %acc = memref.alloca() : memref<256x16xf32, #gpu.address_space<private>>  // [thread, point]
      scf.parallel (%t) { acc[t, *] = init[...] }            // thread phase
      scf.for %k0 = 0 to K step 16 {
        scf.parallel (%t) { a_s[...] = A[...] ... }          // cooperative load to shared memory
        "schedule.barrier"() {scope = "cta"}
        scf.parallel (%t) { acc[t, *] = body(a_s, b_s, acc) } // register tile, fully unrolled
        "schedule.barrier"() {scope = "cta"}
      }
      scf.parallel (%t) { out[...] = epilogue(acc[t, *]) }   // sinks and epilogues
    }

Within a kernel, each phase (``plan.py``: a reduction, or a pointwise operator needed beyond
registers) is built over its region by ``phase.py`` (staging in ``staging.py``, tensor cores in
``tensor_core.py``, where its values go in ``epilogue.py``); operands are read where the kernel
keeps them (``sources.py``); a phase whose result later phases read from shared memory is
followed by a barrier. Sibling thread phases separated by explicit barriers, run one after the
other, are exactly the sequential semantics (the CPU form); ``quartet-map-to-gpu`` turns each
phase into the body of one ``gpu.launch`` thread with the barriers as ``gpu.barrier``.
Everything this pass does follows from the attributes the tiling passes wrote (``tile.program``,
``tile.plan``, ``tile.levels``, ``tile.group``, ``tile.kernel``): it decides nothing itself.

The block loop stands at the output operator's position, so every other member moves down to
it; ``order.py`` refuses a kernel whose members would pass an operation that reads or writes
what they write, or writes what they read.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.dialects import tile
from quartet.dialects.tile import Group, Kernel
from quartet.passes import builder as b
from quartet.passes.base import ModulePass, PassError
from quartet.passes.lower_tiles.launch import kernel_launch
from quartet.passes.lower_tiles.order import check_order
from quartet.passes.lower_tiles.phase import Phase
from quartet.passes.lower_tiles.plan import KernelPlan, kernel_plan
from quartet.passes.lower_tiles.shared import SharedMemory, layout
from quartet.passes.lower_tiles.sources import Reader, evaluate
from quartet.passes.lower_tiles.staging import WORKGROUP
from quartet.passes.lower_tiles.traffic import MEMBERS, TRAFFIC, members_attr, traffic_attr
from quartet.welder import MODELLED_SECONDS


@dataclass(frozen=True)
class LowerTiles(ModulePass):
    """Lower each kernel's tiled linalg.generic ops on buffers to one block loop of phases."""

    name = "quartet-lower-tiles"

    def apply(self, module: ir.Operation) -> None:
        for func in module.regions[0].blocks[0].operations:
            if func.operation.name != "func.func":
                continue
            prefix = ir.StringAttr(func.attributes["sym_name"]).value
            for index, ops in enumerate(kernels(func.operation)):
                output = output_op(ops)
                name = _kernel_name(output, f"{prefix}_k{index}")
                _check_buffers(ops)
                plan = kernel_plan(name, ops)
                build(plan, func.regions[0].blocks[0].arguments)


def kernels(func: ir.Operation) -> list[list[ir.Operation]]:
    """The tiled generics of ``func`` by kernel, in program order: a group's members together
    (at its output operator's position), every other operator alone."""
    found: list[list[ir.Operation]] = []
    groups: dict[tuple, list[ir.Operation]] = {}

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name != "linalg.generic" or tile.PROGRAM not in op.attributes:
            return ir.WalkResult.ADVANCE
        if tile.GROUP not in op.attributes:
            found.append([op])
            return ir.WalkResult.ADVANCE
        key = (op.block, Group.from_attr(op.attributes[tile.GROUP]).name)
        if key not in groups:
            groups[key] = []
            found.append(groups[key])
        groups[key].append(op)
        return ir.WalkResult.ADVANCE

    func.walk(visit)
    return found


def _check_buffers(ops: list[ir.Operation]) -> None:
    for op in ops:
        if any(not isinstance(value.type, ir.MemRefType) for value in op.opview.outputs):
            raise PassError("expected buffer semantics (run one-shot-bufferize first)", op)


def output_op(ops: list[ir.Operation]) -> ir.Operation:
    """The output operator of a kernel: its one operator, or the group's output member."""
    if len(ops) == 1:
        return ops[0]
    outputs = [op for op in ops if Group.from_attr(op.attributes[tile.GROUP]).output]
    if len(outputs) != 1:
        raise PassError(f"a tile.group needs one output operator, found {len(outputs)}", ops[0])
    return outputs[0]


def _kernel_name(op: ir.Operation, default: str) -> str:
    """The ``tile.kernel`` name quartet-outline-kernels gave the kernel, else ``default``."""
    if tile.KERNEL in op.attributes:
        return Kernel.from_attr(op.attributes[tile.KERNEL]).name
    return default


def build(plan: KernelPlan, arguments) -> None:
    """The block loop of ``plan`` at its output operator, then its operators erased. The block
    loop records how the kernel launches (``tile.launch``), its global traffic per argument of
    its function (``tile.traffic``), its operators (``tile.members``) and Welder's modelled time
    of it, where Welder ran."""
    output = plan.output.op
    check_order(plan)
    launch = kernel_launch(plan)
    with (
        ir.InsertionPoint(output),
        output.location,
        b.parallel(list(launch.grid)) as (block_loop, block_ids),
    ):
        block_loop.attributes[tile.KERNEL] = Kernel(plan.name).to_attr()
        block_loop.attributes[tile.LAUNCH] = launch.to_attr()
        block_loop.attributes[tile.PROGRAM] = output.attributes[tile.PROGRAM]
        block_loop.attributes[TRAFFIC] = traffic_attr(plan, arguments)
        block_loop.attributes[MEMBERS] = members_attr(plan, arguments)
        if MODELLED_SECONDS in output.attributes:
            block_loop.attributes[MODELLED_SECONDS] = output.attributes[MODELLED_SECONDS]
        _build_block(plan, block_ids)
    for member in reversed(plan.members):
        member.op.operation.erase()


def _build_block(plan: KernelPlan, block_ids: list[ir.Value]) -> None:
    """One block: region origins, shared buffers of on-chip results, then the phases."""
    tile_origins = {
        position: b.mul(block_id, size)
        for position, (block_id, size) in enumerate(zip(block_ids, plan.tile_sizes, strict=False))
    }
    origins = {
        member: {loop: evaluate(form, tile_origins) for loop, form in member.origin.items()}
        for member in plan.members
    }
    memory = SharedMemory(layout(plan), WORKGROUP)
    reader = Reader(plan, origins, memory)
    for index, member in enumerate(plan.phases):
        Phase(plan, member, reader, origins[member]).build()
        if memory.base is not None and index + 1 < len(plan.phases):
            b.cta_barrier()  # its results are ready, and its bytes free for the next owner
