"""A contraction phase as warps of m16n8k16 tensor-core steps (the plan's ``mma``).

The threads form ``warps_m x warps_n`` warps over the block tile (a batched contraction's
block holds one batch element, whose staged tiles are viewed without their unit batch dims);
each warp owns ``tiles_m x tiles_n`` accumulator tiles of 16x8, and each thread holds its four
fragment elements of each (PTX ISA, "Matrix Fragments for mma.m16n8k16"), initialised from
the output's initial value. Per stage, both inputs are staged in shared memory (in their own
layouts: an operand stored transposed, like Linear's ``Bᵀ``, is read through a transposed
view) and every warp issues one ``tile.mma`` per accumulator tile and 16-deep step; the
fragment points then go to the phase's sinks and epilogues like any other point.
"""

from __future__ import annotations

from itertools import product

from mlir import ir
from mlir.dialects import arith, memref

from quartet.passes import builder as b
from quartet.passes.lower_tiles import epilogue
from quartet.passes.lower_tiles.staging import PRIVATE, Stager, memref_type
from quartet.passes.mma import acc_position, lane_coords


def build_tensor_core_phase(phase) -> None:
    member, plan = phase.member, phase.member.plan.mma
    phase.stager = Stager(phase.kernel, member, phase.reader, phase.num_threads)
    slots = plan.tiles_m * plan.tiles_n * 4
    f32 = ir.F32Type.get()
    acc = memref.alloca(memref_type([phase.num_threads, slots], f32, PRIVATE), [], [])
    output = len(member.inputs)
    with b.parallel([phase.num_threads]) as (_, (thread,)):
        for slot, index in _fragment_points(phase, thread):
            initial = phase.reader.operand(member, output, index)
            memref.store(initial, acc, [thread, b.const_index(slot)])
    (loop,) = member.red_loops
    with b.for_loop(0, member.extents[loop], member.block_tile[loop]) as k0:
        with b.parallel([phase.num_threads]) as (_, (thread,)):
            for i in member.plan.staged:
                phase.stager.copy(i, thread, phase.stage_origin({loop: k0}))
        b.cta_barrier()
        with b.parallel([phase.num_threads]) as (_, (thread,)):
            _build_mma_steps(phase, thread, acc)
        b.cta_barrier()
    with b.parallel([phase.num_threads]) as (_, (thread,)):
        for slot, index in _fragment_points(phase, thread):
            epilogue.store(phase, [memref.load(acc, [thread, b.const_index(slot)])], index)


def _warp_origin(phase, thread: ir.Value) -> tuple[ir.Value, ir.Value]:
    """Where the thread's warp tile starts inside the block tile (m, n)."""
    plan = phase.member.plan.mma
    warp = b.div(thread, 32)
    row, col = b.div(warp, plan.warps_n), b.rem(warp, plan.warps_n)
    return b.mul(row, 16 * plan.tiles_m), b.mul(col, 8 * plan.tiles_n)


def _fragment_points(phase, thread):
    """(accumulator slot, loop indices) of every output element the thread holds."""
    plan = phase.member.plan.mma
    warp_m, warp_n = _warp_origin(phase, thread)
    group, pair = lane_coords(thread)
    rows = (plan.m, plan.n)
    for tile_m, tile_n, e in product(range(plan.tiles_m), range(plan.tiles_n), range(4)):
        row, col = acc_position(group, pair, e)
        m = b.add(arith.addi(phase.origin[plan.m], warp_m), b.add(row, 16 * tile_m))
        n = b.add(arith.addi(phase.origin[plan.n], warp_n), b.add(col, 8 * tile_n))
        batch = {loop: phase.origin[loop] for loop in phase.par_loops if loop not in rows}
        yield (tile_m * plan.tiles_n + tile_n) * 4 + e, {**batch, plan.m: m, plan.n: n}


def _build_mma_steps(phase, thread: ir.Value, acc: ir.Value) -> None:
    plan = phase.member.plan.mma
    warp_m, warp_n = _warp_origin(phase, thread)
    a, bm = (_logical(phase, i) for i in phase.member.plan.staged)
    for kk in range(0, phase.member.block_tile[plan.k], 16):
        for tile_m, tile_n in product(range(plan.tiles_m), range(plan.tiles_n)):
            slot = (tile_m * plan.tiles_n + tile_n) * 4
            operands = [
                a, bm, acc, thread,
                b.add(warp_m, 16 * tile_m), b.const_index(kk),
                b.const_index(kk), b.add(warp_n, 8 * tile_n),
                b.const_index(slot),
            ]  # fmt: skip
            ir.Operation.create(
                "tile.mma", operands=operands, attributes={"shape": ir.StringAttr.get("m16n8k16")}
            )


def _logical(phase, i: int) -> ir.Value:
    """Input ``i``'s staged tile as tile.mma reads it, A as [m, k] and B as [k, n]: the buffer
    itself, or a transposed view of it when the operand is stored the other way round."""
    plan = phase.member.plan.mma
    buffer = phase.reader.memory.matrix(phase.member, i)
    rows = (plan.m, plan.k) if i == 0 else (plan.k, plan.n)
    loops = tuple(form.single_loop() for form in phase.member.space.forms[i])[-2:]
    if loops == rows:
        return buffer
    source = ir.MemRefType(buffer.type)
    rows_stride, cols_stride = source.get_strides_and_offset()[0]
    layout = ir.StridedLayoutAttr.get(0, [cols_stride, rows_stride])
    view = ir.MemRefType.get(
        list(reversed(source.shape)), source.element_type, layout, source.memory_space
    )
    swap = ir.AffineMapAttr.get(ir.AffineMap.get_permutation([1, 0]))
    return memref.transpose(view, buffer, swap)
